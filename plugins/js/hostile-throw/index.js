// hostile-throw: a `reply-classifier` whose `classify` throws a TypeError
// (reading a field of something that is not there), for the host's test that
// a JavaScript exception's failure names the export and what the engine said.

export function describe() {
  return { name: 'hostile-throw', version: '0.1.0', description: 'Throws in classify (test plugin)', needs: [] };
}

export function classify(reply) {
  const lead = reply.lead; // undefined: the test sends a reply matched to no lead
  return { label: { tag: 'interested' }, confidence: lead.score, reason: 'unreachable' };
}

// The keyword rules of the reply-keywords classifier: plain functions over
// plain data, with no WIT imports, so `node --test` can check them directly.

/**
 * Rules in the order they are tried: the first label with a matching phrase
 * wins. Unsubscribe comes first because honouring it is a legal duty;
 * not-interested comes before interested because "not interested" contains
 * "interested".
 */
export const RULES = [
  {
    tag: 'unsubscribe',
    confidence: 0.95,
    phrases: [
      'unsubscribe',
      'remove me',
      'take me off',
      'opt out',
      'opt-out',
      'stop emailing',
      'stop sending',
      'stop contacting',
      'do not contact',
      "don't contact",
      'do not email',
      "don't email",
    ],
  },
  {
    tag: 'out-of-office',
    confidence: 0.9,
    phrases: [
      'out of office',
      'out of the office',
      'automatic reply',
      'autoreply',
      'auto-reply',
      'on vacation',
      'on holiday',
      'on leave',
      'annual leave',
      'parental leave',
      'maternity leave',
      'paternity leave',
      'away from the office',
      'limited access to email',
      'limited access to my email',
      'currently away',
    ],
  },
  {
    tag: 'not-interested',
    confidence: 0.85,
    phrases: [
      'not interested',
      'no interest',
      'no thanks',
      'no thank you',
      'not a fit',
      'not a good fit',
      'not the right time',
      'not looking',
      'not for us',
      'we already use',
      'we are all set',
      "we're all set",
      'pass on this',
      'not at this time',
    ],
  },
  {
    tag: 'interested',
    confidence: 0.8,
    phrases: [
      'interested',
      'sounds good',
      'sounds great',
      "let's talk",
      'lets talk',
      "let's chat",
      'happy to chat',
      'happy to talk',
      'book a call',
      'schedule a call',
      'set up a call',
      'set up a meeting',
      'tell me more',
      'send me more',
      'more information',
      'more info',
      'would love to',
      'works for me',
      'what times',
      'when are you free',
    ],
  },
];

/** The confidence when no rule matches: low, so an operator looks at it. */
export const UNKNOWN_CONFIDENCE = 0.3;

/** Each further matching phrase of the winning rule adds this much confidence... */
const EXTRA_MATCH_BONUS = 0.02;
/** ...up to this cap, because keywords are never certain. */
const MAX_CONFIDENCE = 0.99;

/**
 * The part of a reply body its sender wrote: everything before the quoted
 * history (`>` lines, or an `On ... wrote:` / `-----Original Message-----`
 * header), so the words of our own outreach email are not matched.
 */
export function ownText(body) {
  const kept = [];
  for (const line of body.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (
      /^on .+ wrote:$/i.test(trimmed) ||
      /^-{2,}\s*original message\s*-{2,}$/i.test(trimmed) ||
      (/^from: .+/i.test(trimmed) && kept.length > 0)
    ) {
      break;
    }
    if (trimmed.startsWith('>')) {
      continue;
    }
    kept.push(line);
  }
  return kept.join('\n');
}

/**
 * The first ISO date (`2026-12-01`) in `text` as a WIT `date` record, or
 * `undefined` when there is none or it is not a real calendar date.
 */
export function isoDate(text) {
  const found = /\b(\d{4})-(\d{2})-(\d{2})\b/.exec(text);
  if (!found) {
    return undefined;
  }
  const [year, month, day] = found.slice(1).map(Number);
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) {
    return undefined;
  }
  return { year, month, day };
}

/**
 * Classifies one reply (the WIT `inbound-reply` record as componentize-js
 * passes it: camel-case fields) into a WIT `classification` record.
 */
export function classifyReply(reply) {
  const text = `${reply.subject}\n${ownText(reply.body)}`
    .toLowerCase()
    // Curly apostrophes from mail clients would hide "don't" and "let's".
    .replace(/[\u2018\u2019]/g, "'");
  for (const rule of RULES) {
    const matched = rule.phrases.filter((phrase) => text.includes(phrase));
    if (matched.length === 0) {
      continue;
    }
    const confidence = Math.min(
      MAX_CONFIDENCE,
      rule.confidence + EXTRA_MATCH_BONUS * (matched.length - 1),
    );
    const label =
      rule.tag === 'out-of-office'
        ? { tag: rule.tag, val: isoDate(text) }
        : { tag: rule.tag };
    return {
      label,
      confidence,
      reason: `matched ${matched.map((phrase) => `"${phrase}"`).join(', ')}`,
    };
  }
  return {
    label: { tag: 'unknown' },
    confidence: UNKNOWN_CONFIDENCE,
    reason: 'no keyword matched',
  };
}

// Unit tests of the keyword rules: `npm test` (node's built-in test runner)
// from plugins/js. They run in Node, not in the component.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyReply, isoDate, ownText, UNKNOWN_CONFIDENCE } from './classify.js';

function reply(subject, body) {
  return { from: 'ada@acme.com', subject, body, headers: [], lead: undefined, receivedAt: 0n };
}

test('a positive reply is labelled interested', () => {
  const verdict = classifyReply(reply('Re: intro', "Sounds good, let's talk on Tuesday."));
  assert.deepEqual(verdict.label, { tag: 'interested' });
  assert.ok(verdict.confidence > 0.8);
  assert.match(verdict.reason, /sounds good/);
});

test('not interested wins over the word interested inside it', () => {
  const verdict = classifyReply(reply('Re: intro', 'Not interested, thanks.'));
  assert.deepEqual(verdict.label, { tag: 'not-interested' });
});

test('an unsubscribe request wins over everything else', () => {
  const verdict = classifyReply(reply('Re: intro', "Interesting, but please remove me from this list."));
  assert.deepEqual(verdict.label, { tag: 'unsubscribe' });
  assert.equal(verdict.confidence, 0.95);
});

test('curly apostrophes from mail clients still match', () => {
  const verdict = classifyReply(reply('Re: intro', 'Please don\u2019t contact me again.'));
  assert.deepEqual(verdict.label, { tag: 'unsubscribe' });
});

test('an out-of-office reply carries its return date', () => {
  const verdict = classifyReply(
    reply('Automatic reply: intro', 'I am out of the office until 2026-12-01.'),
  );
  assert.deepEqual(verdict.label, { tag: 'out-of-office', val: { year: 2026, month: 12, day: 1 } });
});

test('an impossible return date is dropped, not passed on', () => {
  assert.equal(isoDate('back on 2026-02-30'), undefined);
  const verdict = classifyReply(reply('Out of office', 'Back on 2026-02-30.'));
  assert.deepEqual(verdict.label, { tag: 'out-of-office', val: undefined });
});

test('words in the quoted history are ignored', () => {
  const body = 'Who is this?\n\nOn Mon, 5 Jan 2026, Bob <bob@x.io> wrote:\n> Interested? Reply to unsubscribe.';
  assert.equal(ownText(body).trim(), 'Who is this?');
  const verdict = classifyReply(reply('Re: intro', body));
  assert.deepEqual(verdict.label, { tag: 'unknown' });
  assert.equal(verdict.confidence, UNKNOWN_CONFIDENCE);
});

test('every confidence stays within 0 and 1', () => {
  const everything = 'interested sounds good sounds great tell me more more info would love to works for me';
  const verdict = classifyReply(reply(everything, everything));
  assert.ok(verdict.confidence > 0 && verdict.confidence < 1);
});

// reply-keywords: a `reply-classifier` plugin (world
// `cam:plugin/reply-classifier@0.1.0`) that labels replies by keywords.
// The world's exports are this module's exports, its imports are ES module
// imports named after the WIT interface.

import { log } from 'cam:plugin/log@0.1.0';

import { classifyReply } from './classify.js';

export function describe() {
  return {
    name: 'reply-keywords',
    version: '0.1.0',
    description:
      'Labels replies interested, not-interested, unsubscribe or out-of-office by keywords.',
    needs: ['log'],
  };
}

export function classify(reply) {
  const verdict = classifyReply(reply);
  log('debug', 'classified reply', [
    { key: 'label', value: verdict.label.tag },
    { key: 'confidence', value: verdict.confidence.toFixed(2) },
    { key: 'reason', value: verdict.reason },
  ]);
  return verdict;
}

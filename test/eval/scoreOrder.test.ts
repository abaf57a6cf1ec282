import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stableSortByScoreDescending } from '../../src/eval/scoreOrder.js';
import { Random } from '../../src/utils/random.js';

function sortIdentity(scores: number[]): number[] {
  const order = Int32Array.from(scores, (_, i) => i);
  stableSortByScoreDescending(order, order.length, Float64Array.from(scores), new Int32Array(order.length));
  return [...order];
}

test('stableSortByScoreDescending: hand case with ties keeps input order among equal scores', () => {
  assert.deepEqual(sortIdentity([0.5, 0.9, 0.5, 0.9, 0.1, 0.5]), [1, 3, 0, 2, 5, 4]);
  assert.deepEqual(sortIdentity([]), []);
  assert.deepEqual(sortIdentity([0.3]), [0]);
  assert.deepEqual(sortIdentity([3, 2, 1]), [0, 1, 2]);
  assert.deepEqual(sortIdentity([1, 2, 3]), [2, 1, 0]);
});

test('stableSortByScoreDescending equals a stable comparator sort on random runs with ties', () => {
  const rng = new Random(3);
  for (let trial = 0; trial < 20; trial++) {
    const scores = Array.from({ length: rng.int(0, 300) }, () => rng.int(0, 20) / 20);
    const want = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    assert.deepEqual(sortIdentity(scores), want);
  }
});

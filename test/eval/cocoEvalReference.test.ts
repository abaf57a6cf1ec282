import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCoco } from '../../src/eval/cocoEval.js';
import { loadCocoVectors } from './helpers/cocoVectors.js';
import { randomCocoProblem } from './helpers/randomCocoProblem.js';
import { referenceCocoEval } from './helpers/referenceCocoEval.js';

function assertSameArray(got: Float64Array, want: Float64Array, name: string): void {
  assert.equal(got.length, want.length, `${name}: length`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.fail(`${name}[${i}]: fast ${got[i]}, reference ${want[i]}`);
  }
}

test('the direct reference port itself reproduces the pycocotools vectors', () => {
  for (const { file, vector } of loadCocoVectors()) {
    const ref = referenceCocoEval(vector.gt, vector.dets);
    ref.stats.forEach((s, i) => {
      const want = vector.expected.stats[i]!;
      assert.ok(Math.abs(s - want) <= 1e-6, `${file} stats[${i}]: reference ${s}, expected ${want}`);
    });
  }
});

for (const [seed, scoreDecimals] of [
  [7, 2],
  [8, 3],
]) {
  test(`fast path == direct port, bit for bit, on a random 200-image problem (seed ${seed}, ties at 1e-${scoreDecimals})`, () => {
    const { gt, dets } = randomCocoProblem({
      seed: seed!,
      numImages: 200,
      numCategories: 12,
      gtPerImage: 4,
      detsPerImage: 25,
      crowdFraction: 0.05,
      scoreDecimals,
      quirks: true,
    });
    // The quirks include a detection of an image not in the ground truth, which both ignore when allowed.
    const fast = evaluateCoco(gt, dets, { returnArrays: true, allowExtraImages: true });
    const ref = referenceCocoEval(gt, dets);
    assertSameArray(fast.precision!, ref.precision, 'precision');
    assertSameArray(fast.recall!, ref.recall, 'recall');
    assert.deepEqual(fast.stats, ref.stats);
    assert.deepEqual(fast.axes!.categoryIds, ref.catIds);
    // The problem is not degenerate: every kind of slice is defined and AP is neither 0 nor 1.
    assert.ok(
      fast.stats.every((s) => s > 0 && s < 1),
      `stats ${fast.stats.join(', ')}`,
    );
  });
}

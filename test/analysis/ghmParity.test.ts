import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { computeGradientStats } from '../../src/analysis/gradientStats.js';
import { GHMC } from '../../src/losses/ghmC.js';
import { GHMR } from '../../src/losses/ghmR.js';
import { Random } from '../../src/utils/random.js';

const closeArrays = (a: number[], b: number[], tol = 1e-5): void => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) =>
    assert.ok(Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `[${i}] ${v} != ${b[i]}`),
  );
};

/** A batch of 64 anchors x 5 classes: ~5 % positives, ~10 % ignored anchors, logits spread over [-8, 8]. */
function batch(seed: number): { logits: number[][]; labels: number[][]; weights: number[] } {
  const r = new Random(seed);
  const logits: number[][] = [];
  const labels: number[][] = [];
  const weights: number[] = [];
  for (let i = 0; i < 64; i++) {
    const cls = r.chance(0.25) ? r.int(0, 4) : -1;
    labels.push(Array.from({ length: 5 }, (_, k) => (k === cls ? 1 : 0)));
    logits.push(Array.from({ length: 5 }, () => r.uniform(-8, 8)));
    weights.push(r.chance(0.1) ? 0 : 1);
  }
  return { logits, labels, weights };
}

for (const backend of ['cpu', 'wasm']) {
  test(`gradient statistics match the GHM-C loss module's bins and weights at momentum 0 (${backend})`, async () => {
    await setupBackend({ backend });
    for (const seed of [1, 2]) {
      const b = batch(seed);
      const loss = new GHMC({ bins: 30, momentum: 0 });
      const [x, y, w] = [
        tf.tensor2d(b.logits),
        tf.tensor2d(b.labels),
        tf.tensor2d(b.labels.map((row, i) => row.map(() => b.weights[i]!))),
      ];
      tf.dispose(loss.call(x, y, w));
      const ref = loss.lastStats()!;
      const s = computeGradientStats(
        { classification: { logits: x, labels: y, labelWeights: w } },
        { fineBins: 30 },
      ).classification!;
      tf.dispose([x, y, w]);
      assert.deepEqual(s.ghmc.counts, ref.binCounts);
      assert.equal(s.ghmc.nonEmpty, ref.nNonEmpty);
      assert.equal(s.ghmc.total, ref.tot);
      closeArrays(s.ghmc.weights, ref.binWeights);
      // with as many fine bins as regions, the fine histogram is the region histogram
      assert.deepEqual(s.fine.counts, ref.binCounts);
      closeArrays(s.fine.ghmWeight, ref.binWeights);
    }
  });

  test(`gradient statistics match the GHM-R loss module's bins and weights at momentum 0 (${backend})`, async () => {
    await setupBackend({ backend });
    const r = new Random(3);
    const pred = Array.from({ length: 12 }, () => Array.from({ length: 4 }, () => r.normal() * 0.1));
    const target = Array.from({ length: 12 }, () => Array.from({ length: 4 }, () => r.normal() * 0.1));
    const weight = Array.from({ length: 12 }, (_, i) => Array.from({ length: 4 }, () => (i < 10 ? 1 : 0)));
    const loss = new GHMR({ bins: 10, momentum: 0 });
    const [p, t, w] = [tf.tensor2d(pred), tf.tensor2d(target), tf.tensor2d(weight)];
    tf.dispose(loss.call(p, t, w));
    const ref = loss.lastStats()!;
    const s = computeGradientStats({
      regression: { bboxPred: p, bboxTargets: t, bboxWeights: w },
    }).regression!;
    tf.dispose([p, t, w]);
    assert.deepEqual(s.ghmr.counts, ref.binCounts);
    assert.equal(s.ghmr.nonEmpty, ref.nNonEmpty);
    assert.equal(s.ghmr.total, ref.tot);
    closeArrays(s.ghmr.weights, ref.binWeights);
  });
}

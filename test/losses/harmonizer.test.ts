import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { binEdges, normThresholds } from '../../src/losses/gradientDensity.js';
import { Harmonizer } from '../../src/losses/harmonizer.js';

/** One valid block and one ignored block of 10 bins: slots = 12, bin j of block b at entry b * 12 + j + 1. */
const thresholdsOf = (bins: number) => normThresholds(binEdges(bins, 1));

test('Harmonizer.weigh: spec 2.2 counts, momentum 0 -> w = tot / (c * n), scaled by lossWeight / tot', async () => {
  await setupBackend({ backend: 'cpu' });
  const h = new Harmonizer('test', { bins: 10, momentum: 0, lossWeight: 2 }, thresholdsOf, 1);
  const before = tf.memory().numTensors;
  // bins 0, 0, 1, 5, 9 valid; the last element ignored (block 1)
  const index = tf.tensor1d([1, 1, 2, 6, 10, 12 + 4], 'int32');
  const wScaled = tf.tidy(() => {
    const { wScaled: w, tot } = h.weigh(index, tf.scalar(5), [], { mean: true, recordWeights: true });
    assert.equal(tot, 5);
    return w;
  });
  assert.deepEqual(
    Array.from(wScaled.dataSync()),
    [0.625, 0.625, 1.25, 1.25, 1.25, 0].map((w) => Math.fround((w * 2) / 5)),
  );
  const stats = h.lastStats()!;
  assert.deepEqual(stats.binCounts, [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
  assert.equal(stats.nNonEmpty, 4);
  assert.equal(stats.accSum, null, 'momentum 0: no state');
  assert.deepEqual(Array.from(stats.weights!.dataSync()), [0.625, 0.625, 1.25, 1.25, 1.25, 0]);
  h.dispose();
  assert.equal(stats.weights, undefined, 'dispose releases the recorded weights');
  tf.dispose([index, wScaled]);
  assert.equal(tf.memory().numTensors, before);
});

test('Harmonizer.weigh: a failed check throws before the EMA state changes; state round trip', async () => {
  await setupBackend({ backend: 'cpu' });
  const h = new Harmonizer('test', { bins: 4, momentum: 0.5, lossWeight: 1 }, thresholdsOf, 1);
  const index = tf.tensor1d([1, 2, 2], 'int32');
  const weigh = (count: number) =>
    tf.tidy(() => {
      const checks = [{ arg: 'pred', expected: 'finite values', count: tf.scalar(count) }];
      h.weigh(index, tf.scalar(3), checks, { mean: false, recordWeights: false });
    });
  assert.throws(() => weigh(1), /test: `pred` must hold finite values; got 1 element/);
  assert.deepEqual(h.getState().accSum, [0, 0, 0, 0]);
  weigh(0);
  const saved = h.getState();
  assert.deepEqual(saved.accSum, [0.5, 1, 0, 0]);
  const restored = new Harmonizer('test', { bins: 4, momentum: 0.5, lossWeight: 1 }, thresholdsOf, 1);
  restored.setState(saved);
  assert.deepEqual(restored.getState(), saved);
  assert.throws(
    () => new Harmonizer('test', { bins: 4, momentum: 0.5, lossWeight: NaN }, thresholdsOf, 1),
    /test: `lossWeight` must be a finite number >= 0, got NaN/,
  );
  index.dispose();
});

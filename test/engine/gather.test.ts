import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../../src/engine/kernels/index.js';
import { onBackend, randomTensor } from './parity.js';

before(() => {
  registerTrainingKernels('wasm');
});

/** Gathers of several layouts, as arrays (exact copies, so both backends must agree bit for bit). */
function gathers(): number[][] {
  const t = tf.tidy(() => {
    const table = randomTensor([30], 1);
    const idx2d = tf.tensor2d([0, 29, 3, 3, 7, 12], [2, 3], 'int32');
    const x3 = randomTensor([2, 5, 3], 2);
    const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const batched = randomTensor([2, 4, 3], 3);
    return [
      tf.gather(table, idx2d),
      tf.gather(x3, tf.tensor1d([4, 0, 4], 'int32'), 1),
      tf.gather(x3, tf.tensor1d([1], 'int32'), 0),
      tf.gather(x3, tf.tensor1d([2, 0], 'int32'), 2),
      tf.gather(ints, tf.tensor1d([2, 2, 0], 'int32')),
      tf.gather(table, tf.tensor1d([], 'int32')),
      tf.gather(batched, tf.tensor2d([3, 0, 1, 1], [2, 2], 'int32'), 1, 1),
    ];
  });
  const out = t.map((v) => [...v.shape, -1, ...Array.from(v.dataSync())]);
  tf.dispose(t);
  return out;
}

test('GatherV2 on wasm equals cpu exactly (axes 0-2, int32, empty indices, batchDims fallback)', async () => {
  const ref = await onBackend('cpu', gathers);
  const got = await onBackend('wasm', gathers);
  assert.deepEqual(got, ref);
});

test('GatherV2 on wasm: an out-of-range index is an error naming the range', async () => {
  await onBackend('wasm', () => {
    const table = tf.tensor1d([1, 2, 3]);
    const idx = tf.tensor1d([0, 3], 'int32');
    assert.throws(() => tf.gather(table, idx), /index value 3 is not in \[0, 2\]/);
    tf.dispose([table, idx]);
  });
});

test('tf.gather gradients (UnsortedSegmentSum) on wasm match cpu, repeated and out-of-order indices', async () => {
  const run = (): number[][] => {
    const t = tf.tidy(() => {
      const x = randomTensor([5, 3], 71);
      const r = randomTensor([2, 4, 3], 72);
      const idx = tf.tensor2d([4, 0, 4, 2, 1, 1, 1, 4], [2, 4], 'int32');
      const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, idx), r)))(x);
      const seg = tf.unsortedSegmentSum(randomTensor([4, 2], 73), tf.tensor1d([2, -1, 2, 5], 'int32'), 3);
      const segInt = tf.unsortedSegmentSum(
        tf.tensor1d([1, 2, 3], 'int32'),
        tf.tensor1d([0, 0, 1], 'int32'),
        2,
      );
      return [g, seg, segInt];
    });
    const out = t.map((v) => [...v.shape, -1, ...Array.from(v.dataSync())]);
    tf.dispose(t);
    return out;
  };
  const ref = await onBackend('cpu', run);
  const got = await onBackend('wasm', run);
  got.forEach((g, i) => {
    assert.equal(g.length, ref[i]!.length);
    g.forEach((v, j) =>
      assert.ok(Math.abs(v - ref[i]![j]!) <= 1e-6 * Math.max(1, Math.abs(ref[i]![j]!)), `output ${i}[${j}]`),
    );
  });
});

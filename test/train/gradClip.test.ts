import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { clipCoefficient, globalNorm } from '../../src/train/gradClip.js';
import { setupBackend } from '../../src/engine/backend.js';

test('globalNorm: L2 norm over all tensors; empty list is 0; no leak', async () => {
  await tf.setBackend('cpu');
  const a = tf.tensor1d([3, 0]);
  const b = tf.tensor2d([[0, 4]]);
  const before = tf.memory().numTensors;
  assert.ok(Math.abs(globalNorm([a, b]) - 5) < 1e-6);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(globalNorm([]), 0);
  tf.dispose([a, b]);
});

test('clipCoefficient: PyTorch clip_grad_norm_ factor', () => {
  assert.equal(clipCoefficient(10, null), 1);
  assert.equal(clipCoefficient(10, 35), 1);
  assert.equal(clipCoefficient(70, 35), 35 / (70 + 1e-6));
  assert.throws(() => clipCoefficient(1, 0), /maxNorm must be > 0/);
});

test('globalNorm on wasm (summed over the heap) agrees with the tf-op sum; no leak', async () => {
  await setupBackend({ backend: 'wasm' });
  const grads = [tf.randomNormal([40, 30], 0, 1, 'float32', 1), tf.tensor1d([3, -4]), tf.zeros([0])];
  const squares = grads.map((g) => tf.sum(tf.square(g)));
  const want = Math.sqrt(squares.reduce((s, t) => s + t.dataSync()[0]!, 0));
  tf.dispose(squares);
  const before = tf.memory().numTensors;
  const got = globalNorm(grads);
  assert.ok(Math.abs(got - want) <= 1e-5 * want, `${got} vs ${want}`);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(grads);
});

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../../src/engine/kernels/index.js';
import { resizeNearestNeighborGradValues } from '../../src/engine/kernels/resizeNearestNeighborGrad.js';
import { onBackend, randomTensor, relativeError } from './parity.js';

before(() => {
  registerTrainingKernels('cpu');
  registerTrainingKernels('wasm');
});

/** Gradient of sum(resizeNearestNeighbor(x, [H, W]) * dy) with respect to x. */
function resizeGrad(
  xShape: [number, number, number, number],
  size: [number, number],
  dy: number[],
): number[] {
  return tf.tidy(() => {
    const x = tf.zeros(xShape) as tf.Tensor4D;
    const dyT = tf.tensor4d(dy, [xShape[0], size[0], size[1], xShape[3]]);
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, size), dyT)),
    )(x);
    return Array.from(g.dataSync());
  });
}

// Hand-computed: a 2x2 -> 4x4 upsampling copies input pixel (i, j) to the 2x2 block (2i.., 2j..), so its gradient
// is the sum of that block of dy; dy = 0..31 over two images of 4x4.
const EXPECTED_2X = [10, 18, 42, 50, 74, 82, 106, 114];

for (const backend of ['cpu', 'wasm']) {
  test(`resizeNearestNeighbor gradient on ${backend} sums each image's own dy block (batch of 2, hand-computed)`, async () => {
    const dy = Array.from({ length: 32 }, (_, i) => i);
    const got = await onBackend(backend, () => resizeGrad([2, 2, 2, 1], [4, 4], dy));
    // The stock cpu kernel of tfjs 4.22 gave [10, 18, 42, 50, 26, 34, 58, 66]: image 1 read image 0's dy.
    assert.deepEqual(got, EXPECTED_2X);
  });
}

test('resizeNearestNeighbor gradient: cpu and wasm agree on FPN-like shapes and non-integer scales', async () => {
  const cases: { x: [number, number, number, number]; size: [number, number]; align?: boolean }[] = [
    { x: [8, 4, 4, 16], size: [8, 8] },
    { x: [3, 2, 2, 5], size: [4, 4] },
    { x: [2, 3, 5, 2], size: [7, 4] },
    { x: [2, 3, 5, 2], size: [7, 4], align: true },
  ];
  for (const c of cases) {
    const run = () =>
      tf.tidy(() => {
        const x = randomTensor<tf.Rank.R4>(c.x, 1);
        const dy = randomTensor<tf.Rank.R4>([c.x[0], c.size[0], c.size[1], c.x[3]], 2);
        const g = tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, c.size, c.align ?? false), dy)),
        )(x);
        return g.dataSync() as Float32Array;
      });
    const cpu = await onBackend('cpu', run);
    const wasm = await onBackend('wasm', run);
    assert.ok(
      relativeError(cpu, wasm) < 1e-6,
      `x ${c.x} -> ${c.size} align ${c.align}: ${relativeError(cpu, wasm)}`,
    );
  }
});

test('resizeNearestNeighborGradValues: identity resize passes dy through; checks the batch and channels', () => {
  const dy = [1, 2, 3, 4, 5, 6];
  assert.deepEqual(Array.from(resizeNearestNeighborGradValues(dy, [1, 1, 3, 2], [1, 1, 3, 2], false)), dy);
  assert.throws(
    () => resizeNearestNeighborGradValues(dy, [2, 1, 3, 1], [1, 1, 3, 2], false),
    /expected \[2, H, W, 1\]/,
  );
});

test('ResizeNearestNeighborGrad on cpu leaves tf.memory().numTensors unchanged', async () => {
  await onBackend('cpu', () => {
    const x = tf.ones([2, 2, 2, 3]) as tf.Tensor4D;
    const f = tf.grad((t: tf.Tensor) => tf.sum(tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [4, 4])));
    f(x).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) f(x).dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

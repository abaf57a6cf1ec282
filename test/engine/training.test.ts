import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from '../../src/engine/kernels/index.js';
import { batchNormTraining } from '../../src/engine/ops/batchNorm.js';
import { onBackend, randomValues } from './parity.js';

before(() => {
  registerTrainingKernels('cpu');
  registerTrainingKernels('wasm');
});

/** Layers of the tiny net: conv 3x3 s1 -> BN -> relu -> conv 3x3 s2 -> BN -> relu -> conv 1x1 (+bias). */
const PARAM_SHAPES: Record<string, number[]> = {
  w1: [3, 3, 3, 4],
  g1: [4],
  b1: [4],
  w2: [3, 3, 4, 6],
  g2: [6],
  b2: [6],
  w3: [1, 1, 6, 2],
  c3: [2],
};

/** Trains the tiny net for `steps` SGD-momentum steps on a fixed batch; returns the loss before each step. */
function trainTinyNet(steps: number): { losses: number[]; leaked: number } {
  const params: Record<string, tf.Variable> = {};
  let seed = 100;
  for (const [name, shape] of Object.entries(PARAM_SHAPES)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = randomValues(size, seed++);
    const init = name.startsWith('g') ? v.map((x) => 1 + 0.1 * x) : v.map((x) => 0.5 * x);
    params[name] = tf.variable(tf.tensor(init, shape), true, `tiny_${name}_${tf.getBackend()}`);
  }
  const x = tf.tensor4d(randomValues(2 * 7 * 6 * 3, 1), [2, 7, 6, 3]);
  const target = tf.tensor4d(randomValues(2 * 4 * 3 * 2, 2), [2, 4, 3, 2]);
  const p = params as Record<keyof typeof PARAM_SHAPES, tf.Variable>;
  const opt = tf.train.momentum(0.05, 0.9);
  const losses: number[] = [];
  let start = 0;
  for (let i = 0; i < steps; i++) {
    const cost = opt.minimize(() => {
      let h = tf.conv2d(x, p['w1'] as tf.Tensor4D, 1, 'same');
      h = tf.relu(batchNormTraining(h, p['g1'] as tf.Tensor1D, p['b1'] as tf.Tensor1D).y);
      h = tf.conv2d(h, p['w2'] as tf.Tensor4D, 2, 'same');
      h = tf.relu(batchNormTraining(h, p['g2'] as tf.Tensor1D, p['b2'] as tf.Tensor1D).y);
      const out = tf.fused.conv2d({
        x: h,
        filter: p['w3'] as tf.Tensor4D,
        strides: 1,
        pad: 'valid',
        bias: p['c3'],
      });
      return tf.mean(tf.square(tf.sub(out, target)));
    }, true)!;
    losses.push(cost.dataSync()[0]!);
    cost.dispose();
    if (i === 0) start = tf.memory().numTensors;
  }
  const leaked = tf.memory().numTensors - start;
  opt.dispose();
  tf.dispose([x, target, ...Object.values(params)]);
  return { losses, leaked };
}

test('a tiny conv + BN + relu net trains on wasm along the cpu loss curve, without leaks', async () => {
  const steps = 6;
  const cpu = await onBackend('cpu', () => trainTinyNet(steps));
  const wasm = await onBackend('wasm', () => trainTinyNet(steps));
  assert.equal(cpu.leaked, 0, 'tensors leaked per step on cpu');
  assert.equal(wasm.leaked, 0, 'tensors leaked per step on wasm');
  assert.ok(wasm.losses[steps - 1]! < wasm.losses[0]! * 0.9, `loss did not fall: ${wasm.losses}`);
  for (let i = 0; i < steps; i++) {
    const rel = Math.abs(wasm.losses[i]! - cpu.losses[i]!) / cpu.losses[i]!;
    assert.ok(rel < 1e-4, `step ${i}: wasm ${wasm.losses[i]} vs cpu ${cpu.losses[i]}`);
  }
});

test('model.fit of a tiny tf.layers conv model runs on wasm and its loss falls', async () => {
  await onBackend('wasm', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 2],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.batchNormalization(),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.conv2d({
          filters: 3,
          kernelSize: 1,
          padding: 'valid',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError' });
    const xs = tf.tensor4d(randomValues(6 * 8 * 8 * 2, 61), [6, 8, 8, 2]);
    const ys = tf.tensor2d(randomValues(6 * 2, 62), [6, 2]);
    const first = await model.fit(xs, ys, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 });
    const tensorsAfterFirst = tf.memory().numTensors;
    const history = await model.fit(xs, ys, { epochs: 8, batchSize: 3, shuffle: false, verbose: 0 });
    const losses = [first.history['loss']![0] as number, ...(history.history['loss'] as number[])];
    assert.ok(losses.every(Number.isFinite), `non-finite loss: ${losses}`);
    assert.ok(losses[losses.length - 1]! < losses[0]!, `loss did not fall: ${losses}`);
    assert.equal(tf.memory().numTensors, tensorsAfterFirst, 'model.fit leaked tensors');
    model.dispose();
    tf.dispose([xs, ys]);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { GHMC } from '../../src/losses/ghmC.js';
import { GHMR } from '../../src/losses/ghmR.js';
import { assertErrorCases, bce, smallLogitsAndTargets, type ErrorCase } from './fixtures.js';

/** Spec 2.2 unit vectors (float64 re-implementation of the reference; checked here to float32 precision). */
const X = [-4, -3, 2, 0, 5, -1];
const Y = [0, 0, 1, 1, 0, 0];
const LW = [1, 1, 1, 1, 1, 0];

function close(a: number, b: number, rel = 2e-6): void {
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b) + 1e-9, `${a} vs ${b}`);
}

for (const backend of ['cpu', 'wasm']) {
  test(`GHMC [${backend}]: spec 2.2 vector, momentum 0, weights and loss`, async () => {
    await setupBackend({ backend });
    const ghmc = new GHMC({ bins: 10, momentum: 0, recordWeights: true });
    const [x, y, lw] = [tf.tensor2d(X, [6, 1]), tf.tensor2d(Y, [6, 1]), tf.tensor2d(LW, [6, 1])];
    const loss = ghmc.call(x, y, lw);
    close(loss.dataSync()[0]!, 1.4650398);
    const stats = ghmc.lastStats()!;
    assert.deepEqual(Array.from(stats.weights!.dataSync()), [0.625, 0.625, 1.25, 1.25, 1.25, 0]);
    assert.equal(stats.tot, 5);
    assert.equal(stats.nNonEmpty, 4);
    assert.deepEqual(stats.binCounts, [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    ghmc.dispose();
    tf.dispose([x, y, lw, loss]);
  });

  test(`GHMC [${backend}]: momentum 0.75, two calls, and the analytic gradient`, async () => {
    await setupBackend({ backend });
    const ghmc = new GHMC({ bins: 10, momentum: 0.75 });
    const [x, y, lw] = [tf.tensor2d(X, [6, 1]), tf.tensor2d(Y, [6, 1]), tf.tensor2d(LW, [6, 1])];
    const l1 = ghmc.call(x, y, lw);
    close(l1.dataSync()[0]!, 5.8601592);
    const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => ghmc.call(p, y, lw) as tf.Scalar)(x);
    close(value.dataSync()[0]!, 3.3486624);
    assert.deepEqual(ghmc.getState().accSum, [0.875, 0.4375, 0, 0, 0, 0.4375, 0, 0, 0, 0.4375]);
    // dloss/dx = w * (sigmoid(x) - y) / tot with w from the second call (tot = 5)
    const w = [1 / 0.875, 1 / 0.875, 1 / 0.4375, 1 / 0.4375, 1 / 0.4375].map((v) => (v * 5) / 4);
    const g = grad.dataSync();
    for (let i = 0; i < 5; i++) close(g[i]!, (w[i]! * (1 / (1 + Math.exp(-X[i]!)) - Y[i]!)) / 5, 1e-5);
    assert.equal(g[5], 0, 'ignored element: no gradient');
    tf.dispose([x, y, lw, l1, value, grad]);
  });

  test(`GHMC [${backend}]: integer labels and [N] label weights give the same result as one-hot [N, C]`, async () => {
    await setupBackend({ backend });
    const pred = tf.tensor2d([2, -1, -3, -4, -4, -4, -1, 1, 0, 0.5, -0.5, -8, 1, 1, 1], [5, 3]);
    const labels = tf.tensor1d([0, 3, -1, -1, 2], 'int32');
    const lwRows = tf.tensor1d([1, 1, 0, 1, 1]);
    const onehot = tf.tensor2d([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [5, 3]);
    const lwFull = tf.tensor2d([1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1], [5, 3]);
    const a = new GHMC({ bins: 10, momentum: 0 }).call(pred, labels, lwRows);
    const b = new GHMC({ bins: 10, momentum: 0 }).call(pred, onehot, lwFull);
    const rows = new GHMC({ bins: 10, momentum: 0 }).call(pred, onehot, lwRows); // [N] weights, one-hot target
    assert.equal(a.dataSync()[0], b.dataSync()[0]);
    assert.equal(rows.dataSync()[0], b.dataSync()[0]);
    close(a.dataSync()[0]!, 0.5370466);
    tf.dispose([pred, labels, lwRows, onehot, lwFull, a, b, rows]);
  });

  test(`GHMC [${backend}]: all ignored -> loss 0, gradient 0, state unchanged; 'none' and 'sum' reductions`, async () => {
    await setupBackend({ backend });
    const ghmc = new GHMC({ bins: 5, momentum: 0.5 });
    const x = tf.tensor2d([
      [1, -2],
      [0.5, 3],
    ]);
    const y = tf.tensor2d([
      [1, 0],
      [0, 0],
    ]);
    ghmc.call(x, y, tf.onesLike(y)).dispose();
    const saved = ghmc.getState();
    const zero = tf.zerosLike(y);
    const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => ghmc.call(p, y, zero) as tf.Scalar)(x);
    assert.equal(value.dataSync()[0], 0);
    assert.ok(Array.from(grad.dataSync()).every((v) => v === 0));
    assert.deepEqual(ghmc.getState(), saved);
    assert.equal(ghmc.lastStats()!.tot, 1);
    // 'none' is the weighted element loss; its sum is the 'sum' reduction; 'mean' divides by tot.
    const m0 = new GHMC({ bins: 3, momentum: 0 });
    const none = m0.call(x, y, undefined, { reduction: 'none' });
    const sum = m0.call(x, y, undefined, { reduction: 'sum' });
    const mean = m0.call(x, y, undefined, { reduction: 'mean' });
    assert.deepEqual(none.shape, [2, 2]);
    close(none.sum().dataSync()[0]!, sum.dataSync()[0]!, 1e-6);
    close(mean.dataSync()[0]! * 4, sum.dataSync()[0]!, 1e-6);
    tf.dispose([x, y, zero, value, grad, none, sum, mean]);
  });

  test(`GHMR [${backend}]: spec 2.2 vector, fractional weights count in tot only`, async () => {
    await setupBackend({ backend });
    const ghmr = new GHMR({ mu: 0.02, bins: 10, momentum: 0, recordWeights: true });
    const pred = tf.tensor2d([0, 0.01, 0.5, -0.2, 0.03, 1, 0, 0], [2, 4]);
    const target = tf.zerosLike(pred);
    const lw = tf.tensor2d([1, 1, 1, 1, 1, 1, 0, 0], [2, 4]);
    const loss = ghmr.call(pred, target, lw);
    close(loss.dataSync()[0]!, 0.1414038);
    assert.deepEqual(Array.from(ghmr.lastStats()!.weights!.dataSync()), [1.5, 1.5, 0.5, 0.5, 1.5, 0.5, 0, 0]);
    const half = tf.mul(lw, 0.5);
    const loss2 = new GHMR({ momentum: 0 }).call(pred, target, half);
    // tot halves (6 -> 3) and so do w (tot / (c n)): the sum of w * ASL1 / tot is unchanged
    close(loss2.dataSync()[0]!, 0.1414038);
    // gradient = w * d / sqrt(d^2 + mu^2) / tot
    const grad = tf.grad((p: tf.Tensor) => ghmr.call(p, target, lw) as tf.Scalar)(pred);
    const d = 0.5;
    close(grad.dataSync()[2]!, (0.5 * d) / Math.sqrt(d * d + 0.0004) / 6, 1e-5);
    ghmr.dispose();
    tf.dispose([pred, target, lw, loss, half, loss2, grad]);
  });

  test(`GHM [${backend}]: bad input is an error naming the argument, and no call leaks tensors`, async () => {
    await setupBackend({ backend });
    const ghmc = new GHMC();
    const ghmr = new GHMR();
    const { x, y } = smallLogitsAndTargets();
    const before = tf.memory().numTensors;
    const cases: ErrorCase[] = [
      [() => ghmc.call(x, tf.zeros([3, 2])), /`target` has shape \[3, 2\], expected \[2, 2\]/],
      [() => ghmc.call(x, y, tf.ones([2, 3])), /`labelWeight` has shape \[2, 3\], expected \[2, 2\]/],
      [
        () =>
          ghmc.call(
            tf.tensor2d([
              [NaN, 0],
              [0, 0],
            ]),
            y,
          ),
        /`pred` must hold finite logits .*got 1 element/,
      ],
      [
        () =>
          ghmc.call(
            x,
            tf.tensor2d([
              [0.5, 0],
              [0, 0],
            ]),
          ),
        /`target` must hold one-hot values 0 or 1/,
      ],
      // Values that would index outside the bin tables: the checks run before the bin lookup.
      [
        () =>
          ghmc.call(
            x,
            tf.tensor2d([
              [-13, 0],
              [0, 1],
            ]),
          ),
        /GHMC: `target` must hold one-hot values 0 or 1; got 1 element/,
      ],
      [
        () =>
          ghmc.call(
            x,
            tf.tensor2d([
              [7, 0],
              [0, NaN],
            ]),
          ),
        /GHMC: `target` must hold one-hot values 0 or 1; got 2 elements/,
      ],
      [
        () =>
          ghmc.call(
            x,
            y,
            tf.tensor2d([
              [NaN, 1],
              [1, 1],
            ]),
          ),
        /GHMC: `labelWeight` must hold finite values; got 1 element/,
      ],
      [() => ghmc.call(x, tf.tensor1d([0, 3], 'int32')), /`target` must hold labels in \[-1, C=2\].*max 3/],
      [() => ghmc.call(x, tf.tensor1d([-2, 1], 'int32')), /labels in \[-1, C=2\].*min -2/],
      [() => ghmc.call(x, tf.tensor1d([0, 1])), /labels \[N\] have dtype float32, expected int32/],
      [
        () =>
          ghmc.call(
            x,
            y,
            tf.tensor2d([
              [1, -1],
              [1, 1],
            ]),
          ),
        /`labelWeight` must hold values >= 0; got 1/,
      ],
      [() => ghmc.call(tf.zeros([2]), tf.zeros([2])), /`pred` has shape \[2\], expected \[N, C\]/],
      [
        () =>
          ghmr.call(
            x,
            tf.tensor2d([
              [Infinity, 0],
              [0, 0],
            ]),
          ),
        /GHMR: `target` must hold finite values/,
      ],
      [
        () =>
          ghmr.call(
            x,
            y,
            tf.tensor2d([
              [1, -0.5],
              [1, 1],
            ]),
          ),
        /GHMR: `labelWeight` must hold values >= 0/,
      ],
      [
        () => ghmc.call(x, y, undefined, { reduction: 'avg' as 'mean' }),
        /`reduction` must be one of none, mean, sum/,
      ],
    ];
    // inputs built inside a case are freed by the case's tidy before the count is compared
    assertErrorCases(cases, { tidy: true });
    assert.throws(() => new GHMC({ bins: 0 }), /GHMC: `bins` must be an integer >= 1, got 0/);
    assert.throws(() => new GHMC({ momentum: 1 }), /GHMC: `momentum` must be in \[0, 1\), got 1/);
    assert.throws(() => new GHMR({ mu: 0 }), /GHMR: `mu` must be a finite number > 0, got 0/);
    assert.throws(() => new GHMR({ bins: 1.5 }), /GHMR: `bins` must be an integer >= 1, got 1.5/);
    assert.throws(
      () => new GHMC({ lossWeight: -1 }),
      /GHMC: `lossWeight` must be a finite number >= 0, got -1/,
    );
    assert.throws(() => new GHMR({ lossWeight: -0.5 }), /GHMR: `lossWeight` must be a finite number >= 0/);
    // forward and forward+backward leave nothing behind
    for (let i = 0; i < 2; i++) {
      tf.dispose(ghmc.call(x, y));
      tf.dispose(tf.grad((p: tf.Tensor) => ghmc.call(p, y) as tf.Scalar)(x));
      tf.dispose(tf.grad((p: tf.Tensor) => ghmr.call(p, y, undefined, { validate: false }) as tf.Scalar)(x));
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
  });

  test(`GHMC [${backend}]: trains a variable with optimizer.minimize (loss falls)`, async () => {
    await setupBackend({ backend });
    const ghmc = new GHMC({ bins: 10, momentum: 0.75, validate: false });
    const y = tf.tensor2d([
      [1, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
      [0, 1, 0],
    ]);
    const v = tf.variable(tf.zeros([4, 3]));
    const opt = tf.train.sgd(1);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const l = opt.minimize(() => ghmc.call(v, y) as tf.Scalar, true)!;
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    assert.equal(tf.memory().numTensors, before);
    // with a fixed batch the BCE falls; the weights re-scale it, so compare plain BCE before/after
    const bceAfter = Array.from(v.dataSync()).reduce((s, xv, i) => s + bce(xv, y.dataSync()[i]!), 0);
    assert.ok(bceAfter < 12 * Math.log(2), `BCE fell from ${12 * Math.log(2)} to ${bceAfter}`);
    assert.ok(losses.every(Number.isFinite));
    tf.dispose([y, v]);
    opt.dispose();
  });
}

for (const backend of ['cpu', 'wasm']) {
  test(`GHM [${backend}]: empty inputs (a pyramid level without anchors) give loss 0 and an empty gradient`, async () => {
    await setupBackend({ backend });
    const empty = tf.zeros([0, 3]);
    const empty4 = tf.zeros([0, 4]);
    const noLabels = tf.zeros([0], 'int32');
    const noWeights = tf.zeros([0]);
    const before = tf.memory().numTensors;
    const ghmc = new GHMC({ momentum: 0.5 });
    const values = tf.tidy(() => [
      ghmc.call(empty, empty, empty).dataSync()[0],
      ghmc.call(empty, noLabels, noWeights).dataSync()[0],
      new GHMR().call(empty4, empty4, empty4).dataSync()[0],
    ]);
    assert.deepEqual(values, [0, 0, 0]);
    assert.ok(
      ghmc.getState().accSum.every((v) => v === 0),
      'nothing counted, state unchanged',
    );
    const g = tf.grad((p: tf.Tensor) => ghmc.call(p, empty, empty) as tf.Scalar)(empty);
    assert.deepEqual(g.shape, [0, 3]);
    g.dispose();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([empty, empty4, noLabels, noWeights]);
  });
}

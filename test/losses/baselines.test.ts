import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { bceWithLogitsLoss } from '../../src/losses/bce.js';
import { sigmoidFocalLoss } from '../../src/losses/focal.js';
import { smoothL1Loss } from '../../src/losses/smoothL1.js';
import { asl1Loss } from '../../src/losses/asl1.js';
import { l1Loss } from '../../src/losses/l1.js';
import { ohemLoss, selectHardRows } from '../../src/losses/ohem.js';
import { stableSum } from '../../src/losses/reduce.js';
import { assertErrorCases, bce, smallLogitsAndTargets, type ErrorCase } from './fixtures.js';

function close(a: number, b: number, rel = 1e-5): void {
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b) + 1e-7, `${a} vs ${b}`);
}
const sig = (x: number) => 1 / (1 + Math.exp(-x));

test('selectHardRows: all positives, the 3x hardest negatives (ties to the lower index), minNeg without positives', () => {
  const loss = [0.1, 0.9, 0.5, 0.5, 0.2, 0.7, 0.05, 3];
  const kind = [0, 1, 0, 0, 0, 0, 0, -1];
  const s = selectHardRows(loss, kind, 3, 2);
  assert.deepEqual(Array.from(s.mask), [0, 1, 1, 1, 0, 1, 0, 0]);
  assert.equal(s.numPos, 1);
  assert.equal(s.numNeg, 3);
  const none = selectHardRows(loss, [0, 0, 0, 0, 0, 0, 0, -1], 3, 2);
  assert.deepEqual(Array.from(none.mask), [0, 1, 0, 0, 0, 1, 0, 0]);
  const few = selectHardRows([1, 2], [1, 0], 3, 0);
  assert.equal(few.numNeg, 1, 'capped by the number of candidates');
});

for (const backend of ['cpu', 'wasm']) {
  test(`baselines [${backend}]: hand-computed values and the reduction contract`, async () => {
    await setupBackend({ backend });
    const xs = [-3, 0, 2, 1.5, -0.5, 10];
    const ys = [0, 1, 1, 0, 0, 1];
    const ws = [1, 2, 0, 1, 0.5, 1];
    const x = tf.tensor2d(xs, [2, 3]);
    const y = tf.tensor2d(ys, [2, 3]);
    const w = tf.tensor2d(ws, [2, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const elem = xs.map((v, i) => bce(v, ys[i]!));
      const wsum = elem.reduce((s, v, i) => s + v * ws[i]!, 0);
      close(bceWithLogitsLoss(x, y).dataSync()[0]!, elem.reduce((a, b) => a + b) / 6);
      close(bceWithLogitsLoss(x, y, w, { reduction: 'sum' }).dataSync()[0]!, wsum);
      close(bceWithLogitsLoss(x, y, w, { avgFactor: 4 }).dataSync()[0]!, wsum / 4);
      assert.deepEqual(bceWithLogitsLoss(x, y, w, { reduction: 'none' }).shape, [2, 3]);
      const focal = xs.map((v, i) => {
        const p = sig(v);
        const t = ys[i]!;
        const pt = p * t + (1 - p) * (1 - t);
        return bce(v, t) * (1 - pt) ** 2 * (0.25 * t + 0.75 * (1 - t));
      });
      close(
        sigmoidFocalLoss(x, y, undefined, { reduction: 'sum' }).dataSync()[0]!,
        focal.reduce((a, b) => a + b),
      );
      const gamma0 = sigmoidFocalLoss(x, y, undefined, {
        reduction: 'sum',
        gamma: 0,
        alpha: -1,
      }).dataSync()[0]!;
      close(
        gamma0,
        elem.reduce((a, b) => a + b),
        1e-6,
      );
      const d = [0.05, -0.2, 0, 0.11, 1, -0.01];
      const p = tf.tensor2d(d, [2, 3]);
      const z = tf.zeros([2, 3]);
      const sl1 = d.map((v) => (Math.abs(v) < 0.11 ? (0.5 * v * v) / 0.11 : Math.abs(v) - 0.055));
      close(
        smoothL1Loss(p, z, undefined, { reduction: 'sum' }).dataSync()[0]!,
        sl1.reduce((a, b) => a + b),
      );
      close(
        smoothL1Loss(p, z, undefined, { beta: 0 }).dataSync()[0]!,
        d.reduce((s, v) => s + Math.abs(v), 0) / 6,
      );
      close(
        l1Loss(p, z, w, { reduction: 'sum' }).dataSync()[0]!,
        d.reduce((s, v, i) => s + Math.abs(v) * ws[i]!, 0),
      );
      const asl = d.map((v) => Math.sqrt(v * v + 0.0004) - 0.02);
      close(
        asl1Loss(p, z, undefined, { reduction: 'sum' }).dataSync()[0]!,
        asl.reduce((a, b) => a + b),
        1e-4,
      );
    });
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y, w]);
  });

  test(`baselines [${backend}]: gradients flow (smooth L1 and focal under tf.grad, no comparison on the tape)`, async () => {
    await setupBackend({ backend });
    const p = tf.tensor1d([0.05, -0.2, 0.5]);
    const z = tf.zeros([3]);
    const g = tf.grad((q: tf.Tensor) => smoothL1Loss(q, z, undefined, { reduction: 'sum' }) as tf.Scalar)(p);
    const gv = g.dataSync();
    close(gv[0]!, 0.05 / 0.11);
    close(gv[1]!, -1);
    close(gv[2]!, 1);
    const x = tf.tensor1d([-1, 2]);
    const y = tf.tensor1d([0, 1]);
    const gf = tf.grad(
      (q: tf.Tensor) => bceWithLogitsLoss(q, y, undefined, { reduction: 'sum' }) as tf.Scalar,
    )(x);
    close(gf.dataSync()[0]!, sig(-1));
    close(gf.dataSync()[1]!, sig(2) - 1);
    tf.dispose([p, z, g, x, y, gf]);
  });

  test(`OHEM [${backend}]: keeps positives and the hardest negatives; normalisation`, async () => {
    await setupBackend({ backend });
    // 5 anchors x 2 classes; anchor 0 positive; negatives ranked by row loss; anchor 4 ignored.
    const xs = [2, -1, 3, -2, -4, -4, 0.5, 1, 5, 5];
    const ys = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const wt = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    const x = tf.tensor2d(xs, [5, 2]);
    const y = tf.tensor2d(ys, [5, 2]);
    const w = tf.tensor2d(wt, [5, 2]);
    const rows = [0, 1, 2, 3, 4].map(
      (r) => bce(xs[2 * r]!, ys[2 * r]!) + bce(xs[2 * r + 1]!, ys[2 * r + 1]!),
    );
    const before = tf.memory().numTensors;
    const one = ohemLoss(x, y, w, { negPosRatio: 1, reduction: 'sum' });
    close(one.dataSync()[0]!, rows[0]! + rows[1]!, 1e-5); // anchor 1 (x = 3, -2) is the hardest negative
    const two = ohemLoss(x, y, w, { negPosRatio: 2, avgFactor: 1 });
    close(two.dataSync()[0]!, rows[0]! + rows[1]! + rows[3]!, 1e-5);
    const mean = ohemLoss(x, y, w, { negPosRatio: 2 });
    close(mean.dataSync()[0]!, (rows[0]! + rows[1]! + rows[3]!) / 3, 1e-5);
    const g = tf.grad((q: tf.Tensor) => ohemLoss(q, y, w, { negPosRatio: 1, reduction: 'sum' }) as tf.Scalar)(
      x,
    );
    const gv = g.dataSync();
    close(gv[0]!, sig(2) - 1);
    assert.equal(gv[4], 0, 'unselected negative: no gradient');
    tf.dispose([one, two, mean, g]);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => ohemLoss(x, y, w, { minNeg: -1 }), /`minNeg` must be an integer >= 0, got -1/);
    tf.dispose([x, y, w]);
  });

  test(`baselines [${backend}]: bad input names the argument; no leaks on success or error`, async () => {
    await setupBackend({ backend });
    const { x, y } = smallLogitsAndTargets();
    const before = tf.memory().numTensors;
    const bad = tf.tensor2d([
      [NaN, 0],
      [0, 0],
    ]);
    const wrong = tf.zeros([2, 3]);
    const neg = tf.tensor2d([
      [1, -1],
      [1, 1],
    ]);
    const soft = tf.tensor2d([
      [0.3, 0],
      [0, 0],
    ]);
    const cases: ErrorCase[] = [
      [
        () => bceWithLogitsLoss(x, wrong),
        /bceWithLogitsLoss: `target` has shape \[2, 3\], expected \[2, 2\]/,
      ],
      [() => sigmoidFocalLoss(bad, y), /sigmoidFocalLoss: `pred` must hold finite values .*got 1 element/],
      [() => smoothL1Loss(x, bad), /smoothL1Loss: `target` must hold finite values/],
      [() => l1Loss(x, y, neg), /l1Loss: `weight` must hold values >= 0; got 1 element/],
      [() => asl1Loss(x, y, undefined, { mu: 0 }), /asl1Loss: `mu` must be a finite number > 0, got 0/],
      [() => smoothL1Loss(x, y, undefined, { beta: -1 }), /`beta` must be a finite number >= 0, got -1/],
      [
        () => bceWithLogitsLoss(x, y, undefined, { reduction: 'sum', avgFactor: 2 }),
        /can not be used with reduction 'sum'/,
      ],
      [
        () => bceWithLogitsLoss(x, y, undefined, { avgFactor: 0 }),
        /`avgFactor` must be a finite number > 0, got 0/,
      ],
      [() => ohemLoss(x, soft), /ohemLoss: `target` must hold one-hot values 0 or 1/],
    ];
    assertErrorCases(cases, { tidy: false });
    tf.dispose([bad, wrong, neg, soft]);
    tf.dispose(bceWithLogitsLoss(x, y, undefined, { validate: false }));
    tf.dispose(tf.grad((q: tf.Tensor) => sigmoidFocalLoss(q, y) as tf.Scalar)(x));
    tf.dispose(tf.grad((q: tf.Tensor) => ohemLoss(q, y) as tf.Scalar)(x));
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
  });
}

test('stableSum: blocked sums are exact on integer data and differentiable', async () => {
  await setupBackend({ backend: 'wasm' });
  const n = 100_003;
  const x = tf.tidy(() => tf.add(tf.mod(tf.range(0, n), 7), 0));
  const s = tf.tidy(() => stableSum(x));
  let want = 0;
  for (let i = 0; i < n; i++) want += i % 7;
  assert.equal(s.dataSync()[0], want);
  const g = tf.grad((q: tf.Tensor) => stableSum(q))(x);
  assert.deepEqual(g.shape, [n]);
  assert.equal(g.dataSync()[n - 1], 1);
  tf.dispose([x, s, g]);
});

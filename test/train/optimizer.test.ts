import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { SgdMomentum } from '../../src/train/optimizer.js';
import { setupBackend } from '../../src/engine/backend.js';
import { Random } from '../../src/utils/random.js';

/** PyTorch SGD in float64 for one variable. */
function reference(
  p: number[],
  grads: number[][],
  lrs: number[],
  m: number,
  wd: number,
  coefs: number[],
): number[] {
  const buf = p.map(() => 0);
  const q = [...p];
  grads.forEach((g, t) => {
    for (let i = 0; i < q.length; i++) {
      const d = g[i]! * coefs[t]! + wd * q[i]!;
      buf[i] = m * buf[i]! + d;
      q[i] = q[i]! - lrs[t]! * buf[i]!;
    }
  });
  return q;
}

test('SgdMomentum: matches PyTorch SGD (momentum, weight decay, clip coefficient) over 3 steps', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(
    tf.tensor2d([
      [1, -2],
      [0.5, 3],
    ]),
    true,
    'opt.w',
  );
  const b = tf.variable(tf.tensor1d([0.1, -0.1]), true, 'opt.b');
  const opt = new SgdMomentum(
    [
      { name: 'w', variable: w },
      { name: 'b', variable: b },
    ],
    { momentum: 0.9, weightDecay: 0.01 },
  );
  const gw = [
    [0.5, -1, 2, 0.25],
    [1, 1, -1, 0],
    [0.1, 0.2, 0.3, 0.4],
  ];
  const gb = [
    [1, 2],
    [-1, 0.5],
    [0, 0],
  ];
  const lrs = [0.1, 0.05, 0.02];
  const coefs = [1, 0.5, 1];
  const before = tf.memory().numTensors;
  for (let t = 0; t < 3; t++) {
    const g1 = tf.tensor2d(gw[t]!, [2, 2]);
    const g2 = tf.tensor1d(gb[t]!);
    opt.step([g1, g2], lrs[t]!, coefs[t]!);
    tf.dispose([g1, g2]);
  }
  assert.equal(tf.memory().numTensors, before, 'step leaves the tensor count unchanged');
  const ew = reference([1, -2, 0.5, 3], gw, lrs, 0.9, 0.01, coefs);
  const eb = reference([0.1, -0.1], gb, lrs, 0.9, 0.01, coefs);
  const aw = w.dataSync();
  const ab = b.dataSync();
  ew.forEach((v, i) => assert.ok(Math.abs(aw[i]! - v) < 1e-6, `w[${i}] ${aw[i]} vs ${v}`));
  eb.forEach((v, i) => assert.ok(Math.abs(ab[i]! - v) < 1e-6, `b[${i}] ${ab[i]} vs ${v}`));
  opt.dispose();
  tf.dispose([w, b]);
});

test('SgdMomentum: decayNormAndBias=false leaves rank-1 variables undecayed', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor2d([[2]]), true, 'opt2.w');
  const b = tf.variable(tf.tensor1d([2]), true, 'opt2.b');
  const opt = new SgdMomentum(
    [
      { name: 'w', variable: w },
      { name: 'b', variable: b },
    ],
    { momentum: 0, weightDecay: 0.5, decayNormAndBias: false },
  );
  const zeros = [tf.zeros([1, 1]), tf.zeros([1])];
  opt.step(zeros, 0.1);
  assert.ok(Math.abs(w.dataSync()[0]! - (2 - 0.1 * 0.5 * 2)) < 1e-7);
  assert.equal(b.dataSync()[0], 2);
  tf.dispose(zeros);
  opt.dispose();
  tf.dispose([w, b]);
});

test('SgdMomentum: state round-trips exactly; mismatched state and gradients are rejected', async () => {
  await tf.setBackend('cpu');
  const mk = (tag: string) => tf.variable(tf.tensor1d([1, 2, 3]), true, `opt3.${tag}`);
  const v1 = mk('a');
  const v2 = mk('b');
  const a = new SgdMomentum([{ name: 'v', variable: v1 }]);
  const b = new SgdMomentum([{ name: 'v', variable: v2 }]);
  const g = tf.tensor1d([0.3, -0.7, 1.1]);
  a.step([g], 0.1);
  b.setState(a.getState());
  v2.assign(v1);
  a.step([g], 0.1);
  b.step([g], 0.1);
  assert.deepEqual(
    Array.from(v2.dataSync()),
    Array.from(v1.dataSync()),
    'same weights after the restored step',
  );
  assert.deepEqual(b.getState(), a.getState());
  assert.throws(() => b.step([], 0.1), /got 0 gradients, expected 1/);
  assert.throws(
    () => b.setState([{ name: 'other', shape: [3], values: new Float32Array(3) }]),
    /expected v \[3\]/,
  );
  assert.throws(
    () =>
      new SgdMomentum([
        { name: 'v', variable: v1 },
        { name: 'v', variable: v2 },
      ]),
    /appears twice/,
  );
  tf.dispose(g);
  a.dispose();
  b.dispose();
  tf.dispose([v1, v2]);
});

test('SgdMomentum on wasm: the heap update gives bitwise the tf-op update; shared data is not written', async () => {
  await setupBackend({ backend: 'wasm' });
  const r = new Random(7);
  const values = (n: number) => Float32Array.from({ length: n }, () => r.normal(0, 1));
  const [w0, b0] = [values(300), values(5)];
  const grads = [0, 1, 2].map(() => [values(300), values(5)] as const);
  const run = (heapUpdate: boolean, shareData = false): Float32Array[] => {
    // A tensor the variable was made from without tidy shares its data: it must keep its values.
    const shared = shareData ? tf.tensor2d(w0, [60, 5]) : null;
    const w = shared !== null ? tf.variable(shared) : tf.tidy(() => tf.variable(tf.tensor2d(w0, [60, 5])));
    const b = tf.tidy(() => tf.variable(tf.tensor1d(b0)));
    const opt = new SgdMomentum(
      [
        { name: 'w', variable: w },
        { name: 'b', variable: b },
      ],
      { momentum: 0.9, weightDecay: 1e-4, decayNormAndBias: false, heapUpdate },
    );
    const before = tf.memory().numTensors;
    grads.forEach(([gw, gb], t) => {
      const g = [tf.tensor2d(gw, [60, 5]), tf.tensor1d(gb)];
      opt.step(g, 0.02 / (t + 1), t === 1 ? 0.37 : 1);
      tf.dispose(g);
    });
    assert.equal(tf.memory().numTensors, before);
    if (shared !== null) assert.deepEqual(shared.dataSync(), w0, 'the shared tensor kept its values');
    const out = [
      w.dataSync() as Float32Array,
      b.dataSync() as Float32Array,
      ...opt.getState().map((s) => s.values),
    ];
    opt.dispose();
    tf.dispose([w, b, ...(shared !== null ? [shared] : [])]);
    return out;
  };
  const viaOps = run(false);
  for (const onHeap of [run(true), run(true, true)]) {
    onHeap.forEach((v, i) => assert.deepEqual(Array.from(v), Array.from(viaOps[i]!), `tensor ${i}`));
  }
});

test('SgdMomentum on wasm: a convolution after the step uses the new weights (no stale backend cache)', async () => {
  await setupBackend({ backend: 'wasm' });
  const w = tf.tidy(() => tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 1)));
  const x = tf.randomNormal([1, 5, 5, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
  const opt = new SgdMomentum([{ name: 'w', variable: w }], { momentum: 0.9, weightDecay: 0 });
  tf.conv2d(x, w as tf.Tensor4D, 1, 'same').dispose(); // the backend now holds work derived from w's data
  const g = tf.onesLike(w);
  opt.step([g], 0.5);
  const got = tf.conv2d(x, w as tf.Tensor4D, 1, 'same');
  const fresh = tf.tensor4d(w.dataSync(), [3, 3, 2, 4]);
  const want = tf.conv2d(x, fresh, 1, 'same');
  assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()));
  tf.dispose([x, g, got, fresh, want, w]);
  opt.dispose();
});

test('SgdMomentum: dispose releases every tensor it made', () => {
  const v = tf.variable(tf.ones([3, 2]));
  const before = tf.memory().numTensors;
  const opt = new SgdMomentum([{ name: 'w', variable: v }], { momentum: 0.9 });
  const g = tf.onesLike(v);
  opt.step([g], 0.1);
  g.dispose();
  assert.equal(tf.memory().numTensors, before + 1, 'one momentum buffer');
  opt.dispose();
  assert.equal(tf.memory().numTensors, before);
  v.dispose();
});

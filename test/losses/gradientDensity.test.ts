import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import {
  GradientDensity,
  binEdges,
  countBins,
  binCountsOf,
  nearestEdgeSlot,
  normThresholds,
  placeInBins,
} from '../../src/losses/gradientDensity.js';
import { logitThresholds } from '../../src/losses/ghmC.js';

test('binEdges: float32 k/bins and the given last edge', () => {
  const e = binEdges(10, 1 + 1e-6);
  assert.equal(e.length, 11);
  assert.equal(e[3], Math.fround(0.3));
  assert.equal(e[7], Math.fround(0.7));
  assert.equal(e[10], Math.fround(1 + 1e-6));
  assert.ok(e[10]! > 1, 'float32(1 + 1e-6) is above 1 so g = 1 falls in the last bin');
});

test('weightTable, momentum 0: w = tot / (c * n) (counts of the spec 2.2 GHM-C case)', () => {
  const d = new GradientDensity('test', 10, 0);
  // g = [0.018, 0.047, 0.119, 0.5, 0.993] valid; bins 0, 0, 1, 5, 9 -> counts [2,1,0,0,0,1,0,0,0,1], tot 5
  const { weights, nNonEmpty } = d.weightTable([2, 1, 0, 0, 0, 1, 0, 0, 0, 1], 5);
  assert.equal(nNonEmpty, 4);
  assert.deepEqual(Array.from(weights), [0.625, 1.25, 0, 0, 0, 1.25, 0, 0, 0, 1.25]);
  assert.equal(d.accSumCopy(), null);
});

test('weightTable, momentum 0.75: two calls from S = 0 follow the EMA of non-empty bins only', () => {
  const d = new GradientDensity('test', 10, 0.75);
  const counts = [2, 1, 0, 0, 0, 1, 0, 0, 0, 1];
  const first = d.weightTable(counts, 5);
  // S = 0.25 * c; w = 5 / (0.25 c) / 4
  assert.deepEqual(Array.from(first.weights), [2.5, 5, 0, 0, 0, 5, 0, 0, 0, 5]);
  const second = d.weightTable(counts, 5);
  assert.deepEqual(d.accSumCopy(), [0.875, 0.4375, 0, 0, 0, 0.4375, 0, 0, 0, 0.4375]);
  assert.equal(second.weights[0], Math.fround(Math.fround(Math.fround(1 / 0.875) * 5) / 4));
  // an empty call leaves the state alone
  const none = d.weightTable(new Array(10).fill(0), 1);
  assert.equal(none.nNonEmpty, 0);
  assert.deepEqual(d.accSumCopy(), [0.875, 0.4375, 0, 0, 0, 0.4375, 0, 0, 0, 0.4375]);
});

test('state: JSON round trip restores the EMA exactly; mismatched states are rejected', () => {
  const a = new GradientDensity('test', 4, 0.7);
  a.weightTable([3, 0, 1, 7], 11);
  a.weightTable([1, 2, 0, 5], 8);
  const saved = JSON.parse(JSON.stringify(a.getState()));
  const b = new GradientDensity('test', 4, 0.7);
  b.setState(saved);
  assert.deepEqual(b.getState(), a.getState());
  const wa = a.weightTable([2, 2, 2, 2], 8).weights;
  const wb = b.weightTable([2, 2, 2, 2], 8).weights;
  assert.deepEqual(Array.from(wb), Array.from(wa));
  assert.throws(() => new GradientDensity('test', 5, 0.7).setState(saved), /`state.bins` is 4 .* expected 5/);
  assert.throws(
    () => new GradientDensity('test', 4, 0.5).setState(saved),
    /`state.momentum` is 0.7, expected 0.5/,
  );
  assert.throws(() => b.setState({ ...saved, accSum: [1, 2, Number.NaN, 3] }), /accSum` holds NaN/);
});

test('options: bins and momentum are validated with the argument named', () => {
  assert.throws(() => new GradientDensity('GHMC', 0, 0.5), /GHMC: `bins` must be an integer >= 1, got 0/);
  assert.throws(() => new GradientDensity('GHMC', 2.5, 0.5), /`bins` must be an integer >= 1, got 2.5/);
  assert.throws(() => new GradientDensity('GHMC', 10, 1), /`momentum` must be in \[0, 1\), got 1/);
  assert.throws(() => new GradientDensity('GHMC', 10, -0.1), /`momentum` must be in \[0, 1\), got -0.1/);
});

for (const backend of ['cpu', 'wasm']) {
  test(`placeInBins [${backend}]: values exactly on float32 edges, g = 1 and ignored entries`, async () => {
    await setupBackend({ backend });
    const th = normThresholds(binEdges(10, 1e3));
    const e = binEdges(10, 1e3);
    // g on edges 0.3, 0.7 (where g * 10 is 3.0000002 and 6.9999998 in float32), just below them, 0, 1, and an
    // ignored entry.
    const g = [e[3]!, e[7]!, Math.fround(e[7]! - 6e-8), Math.fround(e[3]! - 3e-8), 0, 1, 0.55];
    const invalid = [0, 0, 0, 0, 0, 0, 1];
    const before = tf.memory().numTensors;
    const { index, counts } = tf.tidy(() => {
      const gt = tf.tensor1d(g);
      const slot = nearestEdgeSlot(gt, 10, tf.mul(tf.tensor1d(invalid), th.slots));
      const idx = placeInBins(gt, slot, th);
      return { index: idx, counts: countBins(idx, th) };
    });
    const idx = Array.from(index.dataSync());
    const c = counts.dataSync();
    tf.dispose([index, counts]);
    assert.equal(tf.memory().numTensors, before);
    const expectBin = g.map((v) => {
      for (let j = 0; j < 10; j++) if (v >= e[j]! && v < e[j + 1]!) return j;
      return -1;
    });
    assert.deepEqual(
      idx.slice(0, 6).map((i) => i - 1),
      expectBin.slice(0, 6),
    );
    assert.ok(idx[6]! >= th.slots, 'the ignored entry stays in the ignored block');
    assert.deepEqual(binCountsOf(c, th, 1), [1, 0, 1, 1, 0, 0, 1, 1, 0, 1]);
  });
}

test('logitThresholds: the thresholds reproduce the float32 reference g at the edges', () => {
  const th = logitThresholds(10);
  const e = binEdges(10, 1 + 1e-6);
  const gNeg = (z: number) => Math.fround(1 / (1 + Math.exp(-z)));
  const gPos = (z: number) => Math.fround(1 - Math.fround(1 / (1 + Math.exp(z))));
  const next = (z: number, dir: number) => {
    const f = new Float32Array([z]);
    const u = new Int32Array(f.buffer);
    u[0]! += z >= 0 ? dir : -dir;
    return f[0]!;
  };
  for (const [b, norm] of [
    [0, gNeg],
    [1, gPos],
  ] as const) {
    for (let s = 1; s < 10; s++) {
      const z = th.table[b * th.slots + s + 1]!;
      assert.ok(norm(z) >= e[s]!, `block ${b}: g(threshold ${s}) reaches edge ${s}`);
      assert.ok(norm(next(z, -1)) < e[s]!, `block ${b}: the float32 below threshold ${s} does not`);
    }
    assert.equal(th.table[b * th.slots + 1], -Infinity, 'edge 0 is always reached');
    assert.equal(th.table[b * th.slots + 11], Infinity, 'g <= 1 < last edge: the last edge is never reached');
  }
  assert.equal(th.blocks, 4);
  assert.ok(
    th.table.subarray(2 * th.slots).every((v) => v === Infinity),
    'ignored blocks never move',
  );
});

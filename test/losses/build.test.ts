import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { buildLoss, parseLossConfig } from '../../src/losses/build.js';
import { asLayersLoss } from '../../src/losses/layersLoss.js';
import { sigmoidFocalLoss } from '../../src/losses/focal.js';
import { GHMC } from '../../src/losses/ghmC.js';
import { bceWithLogitsLoss } from '../../src/losses/bce.js';

test('parseLossConfig: defaults in mmdetection vocabulary', () => {
  assert.deepEqual(parseLossConfig({ type: 'GHMC' }), {
    type: 'GHMC',
    bins: 30,
    momentum: 0.75,
    use_sigmoid: true,
    loss_weight: 1,
  });
  assert.deepEqual(parseLossConfig({ type: 'GHMR', loss_weight: 10 }), {
    type: 'GHMR',
    mu: 0.02,
    bins: 10,
    momentum: 0.7,
    loss_weight: 10,
  });
  assert.equal(parseLossConfig({ type: 'SmoothL1Loss' }).type, 'SmoothL1Loss');
  assert.deepEqual(parseLossConfig({ type: 'OHEMLoss' }), {
    type: 'OHEMLoss',
    neg_pos_ratio: 3,
    min_neg: 100,
    loss_weight: 1,
  });
});

test('parseLossConfig: errors name the field, the expectation and the value', () => {
  assert.throws(
    () => parseLossConfig({ type: 'GHMC', bins: 2.5 }),
    /field `bins`: .*int.*got 2.5 \(type "GHMC"\)/,
  );
  assert.throws(() => parseLossConfig({ type: 'GHMC', momentum: 1 }), /field `momentum`: .*<1.*got 1/);
  assert.throws(() => parseLossConfig({ type: 'GHMR', mu: 0 }), /field `mu`: .*>0.*got 0/);
  assert.throws(() => parseLossConfig({ type: 'GHMX' }), /field `type`: .*got "GHMX"/);
  assert.throws(() => parseLossConfig({ type: 'L1Loss', bins: 3 }), /type "L1Loss" has unknown field `bins`/);
  assert.throws(() => parseLossConfig({ type: 'CrossEntropyLoss' }), /field `use_sigmoid`: .*expected true/);
  assert.throws(() => parseLossConfig(null), /buildLoss: loss config: .*expected an object/);
  assert.throws(
    () => parseLossConfig({ type: 'FocalLoss', loss_weight: -1 }),
    /field `loss_weight`: .*>=0.*got -1 \(type "FocalLoss"\)/,
  );
  assert.throws(
    () => parseLossConfig({ type: 'GHMC', bin: 10 }),
    /type "GHMC" has unknown field `bin`; did you mean `bins`\?/,
  );
});

for (const backend of ['cpu', 'wasm']) {
  test(`buildLoss [${backend}]: the detector contract, loss_weight, avgFactor, state round trip`, async () => {
    await setupBackend({ backend });
    const pred = tf.tensor2d([
      [2, -1, -3],
      [-4, 0.5, -2],
      [1, 1, -6],
    ]);
    const target = tf.tensor2d([
      [1, 0, 0],
      [0, 0, 0],
      [0, 1, 0],
    ]);
    const weight = tf.tensor2d([
      [1, 1, 1],
      [1, 1, 1],
      [0, 0, 0],
    ]);
    const before = tf.memory().numTensors;
    const focal = buildLoss({ type: 'FocalLoss', loss_weight: 2 });
    const l = focal.call(pred, target, weight, { avgFactor: 2 });
    const ref = sigmoidFocalLoss(pred, target, weight, { avgFactor: 2 });
    assert.equal(l.dataSync()[0], 2 * ref.dataSync()[0]!);
    assert.equal(focal.getState(), null);
    assert.throws(() => focal.setState({ accSum: [] }), /FocalLoss has no state/);
    tf.dispose([l, ref]);

    const bce = buildLoss({ type: 'CrossEntropyLoss', use_sigmoid: true }, { validate: false });
    const lb = bce.call(pred, target, weight, { avgFactor: 4 });
    const rb = bceWithLogitsLoss(pred, target, weight, { avgFactor: 4 });
    assert.equal(lb.dataSync()[0], rb.dataSync()[0]);
    tf.dispose([lb, rb]);

    const ghm = buildLoss({ type: 'GHMC', bins: 5, momentum: 0.75, loss_weight: 1 });
    const direct = new GHMC({ bins: 5, momentum: 0.75 });
    for (let i = 0; i < 2; i++) {
      const a = ghm.call(pred, target, weight, { avgFactor: 123 }); // avgFactor ignored
      const b = direct.call(pred, target, weight);
      assert.equal(a.dataSync()[0], b.dataSync()[0]);
      tf.dispose([a, b]);
    }
    const stats = ghm.lastStats()!;
    assert.equal(stats.tot, 6);
    assert.equal(stats.binCounts.length, 5);
    const saved = JSON.parse(JSON.stringify(ghm.getState()));
    const restored = buildLoss({ type: 'GHMC', bins: 5, momentum: 0.75 });
    restored.setState(saved);
    const a = ghm.call(pred, target, weight);
    const b = restored.call(pred, target, weight);
    assert.equal(a.dataSync()[0], b.dataSync()[0]);
    assert.deepEqual(restored.getState(), ghm.getState());
    ghm.setRecordWeights(true);
    tf.dispose([a, b, ghm.call(pred, target, weight)]);
    assert.deepEqual(ghm.lastStats()!.weights!.shape, [3, 3]);
    ghm.dispose();

    const deltas = tf.tensor2d([
      [0.1, -0.2, 0, 0.5],
      [0, 0, 0, 0],
    ]);
    const zeros = tf.zerosLike(deltas);
    const posW = tf.tensor2d([
      [1, 1, 1, 1],
      [0, 0, 0, 0],
    ]);
    const noPos = tf.zerosLike(posW);
    for (const type of ['GHMR', 'SmoothL1Loss', 'L1Loss', 'ASL1Loss']) {
      const loss = buildLoss({ type });
      const v = loss.call(deltas, zeros, posW, { avgFactor: 1 });
      assert.equal(v.rank, 0, type);
      assert.ok(v.dataSync()[0]! > 0, type);
      const empty = loss.call(deltas, zeros, noPos, { avgFactor: 1 });
      assert.equal(empty.dataSync()[0], 0, `${type}: no positive -> loss exactly 0`);
      tf.dispose([v, empty]);
    }
    const ohem = buildLoss({ type: 'OHEMLoss', neg_pos_ratio: 1 });
    tf.dispose(ohem.call(pred, target, weight, { avgFactor: 1 }));
    tf.dispose([deltas, zeros, posW, noPos]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([pred, target, weight]);
  });
}

test('asLayersLoss: one model.fit step with GHM-C and with focal loss on the cpu backend', async () => {
  await setupBackend({ backend: 'cpu' });
  const xs = tf.tensor2d([
    [1, 0],
    [0, 1],
    [1, 1],
    [0, 0],
  ]);
  const ys = tf.tensor2d([
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [0, 0, 0],
  ]);
  const ghmc = new GHMC({ bins: 10, momentum: 0 });
  for (const loss of [
    asLayersLoss((p, t, w, o) => ghmc.call(p, t, w, o)),
    asLayersLoss(sigmoidFocalLoss, { gamma: 2, alpha: 0.25 }),
  ]) {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] })] });
    model.compile({ optimizer: tf.train.sgd(0.5), loss });
    const w0 = (model.getWeights()[0]!.dataSync() as Float32Array).slice();
    const before = tf.memory().numTensors;
    const h = await model.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
    assert.equal(tf.memory().numTensors, before);
    const l = h.history['loss']![0] as number;
    assert.ok(Number.isFinite(l) && l > 0, `loss ${l}`);
    const w1 = model.getWeights()[0]!.dataSync();
    assert.ok(
      w0.some((v, i) => v !== w1[i]),
      'the step changed the weights',
    );
    model.dispose();
  }
  tf.dispose([xs, ys]);
});

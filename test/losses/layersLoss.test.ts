import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { asLayersLoss } from '../../src/losses/layersLoss.js';
import { GHMC } from '../../src/losses/ghmC.js';
import { GHMR } from '../../src/losses/ghmR.js';
import { sigmoidFocalLoss } from '../../src/losses/focal.js';

const B = 2;
const A = 3;
const C = 2;

/** `[B, A, C]` logits and one-hot targets with anchor (0, 1) ignored (a row of -1) and one ignored element. */
function headBatch(): { logits: tf.Tensor3D; yTrue: tf.Tensor3D } {
  const logits = tf.tensor3d(
    [
      [
        [2, -1],
        [0.5, 0.2],
        [-3, 1],
      ],
      [
        [-0.5, 4],
        [1, -2],
        [0, 0],
      ],
    ],
    [B, A, C],
  );
  const yTrue = tf.tensor3d(
    [
      [
        [1, 0],
        [-1, -1],
        [0, 1],
      ],
      [
        [0, -1],
        [0, 0],
        [1, 0],
      ],
    ],
    [B, A, C],
  );
  return { logits, yTrue };
}

test('asLayersLoss: [B, A, C] logits with -1 = ignored give GHM-C on [N, C] with zero label weights there', async () => {
  await setupBackend({ backend: 'cpu' });
  const { logits, yTrue } = headBatch();
  const adapted = new GHMC({ bins: 5, momentum: 0.75 });
  const direct = new GHMC({ bins: 5, momentum: 0.75 });
  const flatTarget = tf.tensor2d([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], [B * A, C]);
  const weight = tf.tensor2d([1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1], [B * A, C]);
  const before = tf.memory().numTensors;
  const got = asLayersLoss(adapted, { ignoreValue: -1 })(yTrue, logits);
  assert.equal(tf.memory().numTensors, before + 1, 'only the loss is left');
  const want = direct.call(tf.reshape(logits, [B * A, C]), flatTarget, weight);
  assert.equal(got.dataSync()[0], want.dataSync()[0]);
  assert.deepEqual(adapted.lastStats()!.binCounts, direct.lastStats()!.binCounts);
  assert.equal(adapted.lastStats()!.tot, 9, '12 elements, 3 ignored');
  // Outside a gradient tape (as in model.evaluate) the EMA state did not move; the direct call's did.
  assert.ok(adapted.getState().accSum.every((v) => v === 0));
  assert.ok(direct.getState().accSum.some((v) => v > 0));
  // The bound `call` adapts the same way as the object.
  const viaCall = asLayersLoss(adapted.call, { ignoreValue: -1 })(yTrue, logits);
  assert.equal(viaCall.dataSync()[0], got.dataSync()[0]);
  tf.dispose([logits, yTrue, flatTarget, weight, got, want, viaCall]);
});

test('asLayersLoss: NaN = no target for GHM-R box deltas; shape mismatches are named', async () => {
  await setupBackend({ backend: 'cpu' });
  const pred = tf.tensor3d(
    [
      [
        [0.1, 0.2, -0.3, 0.4],
        [1, 1, 1, 1],
      ],
    ],
    [1, 2, 4],
  );
  const yTrue = tf.tensor3d(
    [
      [
        [0, 0.5, 0, 0],
        [NaN, NaN, NaN, NaN],
      ],
    ],
    [1, 2, 4],
  );
  const got = asLayersLoss(new GHMR({ mu: 0.02, bins: 10, momentum: 0 }), { ignoreValue: NaN })(yTrue, pred);
  const want = new GHMR({ mu: 0.02, bins: 10, momentum: 0 }).call(
    tf.tensor2d([0.1, 0.2, -0.3, 0.4], [1, 4]),
    tf.tensor2d([0, 0.5, 0, 0], [1, 4]),
  );
  assert.ok(
    Math.abs(got.dataSync()[0]! - want.dataSync()[0]!) < 1e-6,
    `${got.dataSync()} vs ${want.dataSync()}`,
  );
  assert.throws(
    () => asLayersLoss(sigmoidFocalLoss, { ignoreValue: -1 })(tf.zeros([2, 3]), tf.zeros([2, 4])),
    /yTrue has shape \[2,3\], expected yPred's shape \[2,4\], with -1 for ignored elements/,
  );
  assert.throws(() => asLayersLoss(undefined as never), /`loss` must be a loss function or an object/);
  tf.dispose([pred, yTrue, got, want]);
});

/** A detection-head-like layers model: features [F] -> logits [A, C]. */
function headModel(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: A * C,
        inputShape: [4],
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.reshape({ targetShape: [A, C] }),
    ],
  });
}

test('asLayersLoss in model.fit: the GHM-C state moves in training steps only, not in evaluate, predict or validation', async () => {
  await setupBackend({ backend: 'cpu' });
  const xs = tf.tensor2d([1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0.5, -1, 2, 0], [4, 4]);
  const yTrue = tf.tensor3d(
    [1, 0, -1, -1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, -1, -1, 1, 0, 0, 1, 0, 0],
    [4, A, C],
  );
  const fitOnce = async (validate: boolean) => {
    const ghmc = new GHMC({ bins: 10, momentum: 0.75 });
    const model = headModel(1);
    model.compile({ optimizer: tf.train.sgd(0.1), loss: asLayersLoss(ghmc, { ignoreValue: -1 }) });
    const w0 = model.getWeights()[0]!.dataSync().slice();
    const before = tf.memory().numTensors;
    const h = await model.fit(xs, yTrue, {
      epochs: 2,
      batchSize: 4,
      shuffle: false,
      verbose: 0,
      ...(validate ? { validationData: [xs, yTrue] as [tf.Tensor, tf.Tensor] } : {}),
    });
    assert.equal(tf.memory().numTensors, before, 'fit leaked tensors');
    const losses = h.history['loss'] as number[];
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(
      model
        .getWeights()[0]!
        .dataSync()
        .some((v, i) => v !== w0[i]),
      'fit changed no weight',
    );
    return { ghmc, model, h };
  };
  const plain = await fitOnce(false);
  const afterFit = plain.ghmc.getState().accSum;
  assert.ok(
    afterFit.some((v) => v > 0),
    'the training steps moved the EMA state',
  );
  // evaluate() computes the loss and leaves the state alone; so does predict().
  const evalLoss = plain.model.evaluate(xs, yTrue, { batchSize: 4 }) as tf.Scalar;
  assert.ok(Number.isFinite(evalLoss.dataSync()[0]!));
  assert.deepEqual(plain.ghmc.getState().accSum, afterFit);
  tf.dispose([plain.model.predict(xs) as tf.Tensor, evalLoss]);
  assert.deepEqual(plain.ghmc.getState().accSum, afterFit);
  // With validation data, fit evaluates after every epoch: the state is the one of the training steps alone.
  const validated = await fitOnce(true);
  assert.ok((validated.h.history['val_loss'] as number[]).every(Number.isFinite));
  assert.deepEqual(validated.ghmc.getState().accSum, afterFit);
  plain.model.dispose();
  validated.model.dispose();
  tf.dispose([xs, yTrue]);
});

test('asLayersLoss types: options are typed after the loss', () => {
  const ghmc = new GHMC();
  // Each line below must fail to type-check (`npm run typecheck` covers the tests); at run time none is called.
  const wrongWays = [
    // @ts-expect-error focal loss has no `bins`
    () => asLayersLoss(sigmoidFocalLoss, { bins: 3 }),
    // @ts-expect-error GHM-C has no `gamma`
    () => asLayersLoss(ghmc, { gamma: 2 }),
    // @ts-expect-error a GHM-C object's statistics are not a loss
    () => asLayersLoss(ghmc.lastStats),
  ];
  assert.equal(wrongWays.length, 3);
  assert.equal(typeof asLayersLoss(ghmc, { ignoreValue: -1, validate: false }), 'function');
});

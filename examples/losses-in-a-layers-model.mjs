// GHM-C and GHM-R as the losses of a tf.layers detection head, trained with model.fit.
// Node: `node examples/losses-in-a-layers-model.mjs` (after `npm run build`); the playground page runs it too.
import * as tf from '@tensorflow/tfjs';
import { GHMC, GHMR, asLayersLoss } from 'ghmdet/losses';

// A toy head: 16 features per image -> A anchors x C classes of logits, and A x 4 box deltas.
const A = 8;
const C = 3;
const input = tf.input({ shape: [16] });
const hidden = tf.layers.dense({ units: 32, activation: 'relu' }).apply(input);
const clsLogits = tf.layers
  .reshape({ targetShape: [A, C] })
  .apply(tf.layers.dense({ units: A * C }).apply(hidden));
const boxDeltas = tf.layers
  .reshape({ targetShape: [A, 4] })
  .apply(tf.layers.dense({ units: A * 4 }).apply(hidden));
const model = tf.model({ inputs: input, outputs: [clsLogits, boxDeltas] });

// The losses keep their gradient-density state (an EMA over bins of the gradient norm); it moves in fit() only.
const ghmc = new GHMC({ bins: 30, momentum: 0.75 });
const ghmr = new GHMR({ mu: 0.02, bins: 10, momentum: 0.7 });
model.compile({
  optimizer: tf.train.adam(0.01),
  loss: [
    // yTrue [B, A, C]: one-hot classes, all zeros for background, -1 for an anchor to ignore.
    asLayersLoss(ghmc, { ignoreValue: -1 }),
    // yTrue [B, A, 4]: box targets of the anchors with an object, NaN for the others.
    asLayersLoss(ghmr, { ignoreValue: NaN }),
  ],
});

// Synthetic targets that depend on the features: an anchor holds an object of class argmax(score) when its
// best score is high, is ignored when it is in between, and is background otherwise.
const N = 512;
const x = tf.randomNormal([N, 16], 0, 1, 'float32', 1);
const scores = tf.reshape(tf.matMul(x, tf.randomNormal([16, A * C], 0, 0.5, 'float32', 2)), [N, A, C]);
const best = tf.max(scores, -1, true); // [N, A, 1]
const isObject = tf.greater(best, 1.2);
const isIgnored = tf.logicalAnd(tf.greater(best, 0.9), tf.logicalNot(isObject));
const oneHot = tf.oneHot(tf.argMax(scores, -1), C);
const yCls = tf.where(
  tf.broadcastTo(isIgnored, [N, A, C]),
  tf.fill([N, A, C], -1),
  tf.mul(oneHot, tf.cast(isObject, 'float32')),
);
const boxes = tf.reshape(tf.matMul(x, tf.randomNormal([16, A * 4], 0, 0.1, 'float32', 3)), [N, A, 4]);
const yBox = tf.where(tf.broadcastTo(isObject, [N, A, 4]), boxes, tf.fill([N, A, 4], NaN));

const history = await model.fit(x, [yCls, yBox], { epochs: 20, batchSize: 64, verbose: 0 });
const losses = history.history.loss;
for (const epoch of [1, 5, 10, 20]) console.log(`epoch ${epoch}: loss ${losses[epoch - 1].toFixed(4)}`);

const state = JSON.stringify(ghmc.getState());
const evaluated = model.evaluate(x, [yCls, yBox], { batchSize: 64 });
console.log(`evaluate: loss ${evaluated[0].dataSync()[0].toFixed(4)}`);
console.log(`evaluate() left the GHM-C state unchanged: ${JSON.stringify(ghmc.getState()) === state}`);
const counts = ghmc.lastStats().binCounts;
console.log(
  `GHM-C, last training batch: ${counts.filter((c) => c > 0).length} of 30 bins used, ` +
    `${counts[0]} of ${counts.reduce((a, b) => a + b, 0)} elements in the lowest-norm bin`,
);
tf.dispose([x, scores, best, isObject, isIgnored, oneHot, yCls, boxes, yBox, ...evaluated]);

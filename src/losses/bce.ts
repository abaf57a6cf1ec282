/**
 * Sigmoid binary cross-entropy with logits (torch `binary_cross_entropy_with_logits`, mmdetection
 * `CrossEntropyLoss(use_sigmoid=True)`), in the numerically stable form
 * `max(x, 0) - x * y + log(1 + exp(-|x|))`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { elementwiseLoss } from './elementwise.js';
import type { ReduceOptions } from './reduce.js';

/**
 * `softplus(z) = log(1 + exp(z))` as `relu(z) - log1p(-sigmoid(-|z|))`: `sigmoid(-|z|)` is in (0, 0.5] and
 * accurate to a relative float32 rounding, so the result is too; on wasm this is about twice as fast as
 * `tf.softplus` or `log1p(exp(-|z|))` (the sigmoid is vectorised, exp is not). Differentiable. Call inside `tf.tidy`.
 */
export function softplusStable(z: tf.Tensor): tf.Tensor {
  return tf.sub(tf.relu(z), tf.log1p(tf.neg(tf.sigmoid(tf.neg(tf.abs(z))))));
}

/** Element-wise BCE of logits `x` against targets `y` in [0, 1] (same shape). Call inside `tf.tidy`. */
export function bceWithLogitsElementwise(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  // max(x, 0) - x*y + log(1 + exp(-|x|)), with the last term as softplus(-|x|) = -log1p(-sigmoid(-|x|))
  return tf.sub(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.neg(tf.sigmoid(tf.neg(tf.abs(x))))));
}

/**
 * @param pred logits, float32, any shape (e.g. `[N, C]`).
 * @param target same shape, values in [0, 1] (one-hot 0/1 for classification).
 * @param weight optional, same shape, >= 0.
 * @param options reduction (default 'mean'), avgFactor, validate.
 */
export function bceWithLogitsLoss(
  pred: tf.Tensor,
  target: tf.Tensor,
  weight?: tf.Tensor,
  options: ReduceOptions = {},
): tf.Tensor {
  return elementwiseLoss('bceWithLogitsLoss', pred, target, weight, options, bceWithLogitsElementwise);
}

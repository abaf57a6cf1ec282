/**
 * Sigmoid binary cross-entropy with logits (torch `binary_cross_entropy_with_logits`, mmdetection
 * `CrossEntropyLoss(use_sigmoid=True)`), in the numerically stable form
 * `max(x, 0) - x * y + log(1 + exp(-|x|))`.
 */
import * as tf from '@tensorflow/tfjs';
import { elementwiseLoss } from './elementwise.js';
import type { ReduceOptions } from './reduce.js';

/** Element-wise BCE of logits `x` against targets `y` in [0, 1] (same shape). Call inside `tf.tidy`. */
export function bceWithLogitsElementwise(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(x), tf.mul(x, y)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
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

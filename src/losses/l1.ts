/** L1 loss `|pred - target|` (mmdetection `L1Loss`). */
import * as tf from '@tensorflow/tfjs-core';
import { elementwiseLoss } from './elementwise.js';
import type { ReduceOptions } from './reduce.js';

/** @param pred any shape, float32; `target` and optional `weight` (>= 0) the same shape. */
export function l1Loss(
  pred: tf.Tensor,
  target: tf.Tensor,
  weight?: tf.Tensor,
  options: ReduceOptions = {},
): tf.Tensor {
  return elementwiseLoss('l1Loss', pred, target, weight, options, (x, y) => tf.abs(tf.sub(x, y)));
}

/**
 * Adapter from the library's loss contract `(pred, target, weight?, options)` to a `tf.layers` loss
 * `(yTrue, yPred) => Scalar`, for `model.compile({ loss: asLayersLoss(sigmoidFocalLoss) })`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ReduceOptions } from './reduce.js';

/** Any loss of the library as a function (GHM classes: `(p, t, w, o) => ghmc.call(p, t, w, o)`). */
export type LossFunction<O extends ReduceOptions = ReduceOptions> = (
  pred: tf.Tensor,
  target: tf.Tensor,
  weight: tf.Tensor | undefined,
  options: O,
) => tf.Tensor;

/**
 * @param loss the loss; it receives `yPred` as `pred`, `yTrue` as `target`, no weight.
 * @param options passed on every call (typed after the loss's own options); `reduction` is forced to 'mean'
 *   unless 'sum' is asked for, so the result is a scalar as tf.layers expects.
 */
export function asLayersLoss<
  F extends (pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | undefined, options: never) => tf.Tensor,
>(loss: F, options?: Parameters<F>[3]): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  const opts: ReduceOptions = { ...(options as ReduceOptions | undefined) };
  if (opts.reduction !== 'sum') opts.reduction = 'mean';
  const call = loss as unknown as LossFunction;
  return (yTrue, yPred) => call(yPred, yTrue, undefined, opts) as tf.Scalar;
}

/**
 * The common path of the element-wise losses (BCE, focal, smooth L1, ASL1, L1): argument checks, the optional
 * fused value check, then `weightReduce(elementwise(pred, target), weight)` inside one `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkReduceOptions, weightReduce, type ReduceOptions } from './reduce.js';
import {
  nonNegativeCheck,
  expectShape,
  expectTensor,
  finiteChecks,
  runChecks,
  type ValueCheck,
} from './checks.js';

/**
 * @param loss the loss's name for error messages.
 * @param pred float32, any shape; `target` and `weight` (optional, >= 0) must have the same shape.
 * @param elementwise the per-element loss of `(pred, target as float32)`; differentiable w.r.t. pred.
 * @param extraChecks value checks beyond finiteness (e.g. binary targets), evaluated with the same read-back.
 */
export function elementwiseLoss(
  loss: string,
  pred: tf.Tensor,
  target: tf.Tensor,
  weight: tf.Tensor | undefined,
  options: ReduceOptions,
  elementwise: (pred: tf.Tensor, target: tf.Tensor) => tf.Tensor,
  extraChecks?: (target: tf.Tensor) => ValueCheck[],
): tf.Tensor {
  expectTensor(loss, 'pred', pred);
  expectTensor(loss, 'target', target);
  if (pred.dtype !== 'float32')
    throw new Error(`${loss}: \`pred\` has dtype ${pred.dtype}, expected float32`);
  expectShape(loss, 'target', target, pred.shape, 'the shape of `pred`');
  if (weight !== undefined && weight !== null) {
    expectTensor(loss, 'weight', weight);
    expectShape(loss, 'weight', weight, pred.shape, 'the shape of `pred`');
  }
  const w = weight ?? undefined;
  const reduction = checkReduceOptions(loss, options);
  if (options.validate ?? true) {
    runChecks(loss, () => [
      ...finiteChecks({ pred, target, weight: w }),
      ...(w === undefined ? [] : [nonNegativeCheck('weight', w)]),
      ...(extraChecks?.(target) ?? []),
    ]);
  }
  return tf.tidy(() =>
    weightReduce(
      elementwise(pred, tf.cast(target, 'float32')),
      w === undefined ? undefined : tf.cast(w, 'float32'),
      reduction,
      options.avgFactor,
    ),
  );
}

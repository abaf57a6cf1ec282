/**
 * Smooth L1 (Huber with slope 1; mmdetection `SmoothL1Loss`, torchvision `smooth_l1_loss` with `beta`):
 * `0.5 d^2 / beta` for |d| < beta, `|d| - 0.5 beta` otherwise; beta = 0 is plain L1.
 *
 * Written as `0.5 m^2 / beta + (|d| - m)` with `m = min(|d|, beta)`: the same values, and a graph with no
 * comparison op on the gradient path (tfjs has no gradient for comparisons).
 */
import * as tf from '@tensorflow/tfjs-core';
import { elementwiseLoss } from './elementwise.js';
import type { ReduceOptions } from './reduce.js';

/** Options of {@link smoothL1Loss}. */
export interface SmoothL1Options extends ReduceOptions {
  /** Width of the quadratic part, >= 0; default 0.11 (RetinaNet's `SmoothL1Loss` beta). */
  beta?: number;
}

/**
 * @param pred box deltas `[N, 4]` (any shape), float32. @param target same shape. @param weight optional, same shape.
 */
export function smoothL1Loss(
  pred: tf.Tensor,
  target: tf.Tensor,
  weight?: tf.Tensor,
  options: SmoothL1Options = {},
): tf.Tensor {
  const beta = options.beta ?? 0.11;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0) {
    throw new Error(`smoothL1Loss: \`beta\` must be a finite number >= 0, got ${String(beta)}`);
  }
  return elementwiseLoss('smoothL1Loss', pred, target, weight, options, (x, y) => {
    const a = tf.abs(tf.sub(x, y));
    if (beta === 0) return a;
    const m = tf.minimum(a, beta);
    return tf.add(tf.div(tf.mul(tf.mul(m, 0.5), m), beta), tf.sub(a, m));
  });
}

/**
 * "Authentic" smooth L1 of the GHM paper (eq. 17): `ASL1(d) = sqrt(d^2 + mu^2) - mu`, smooth everywhere, with
 * gradient `d / sqrt(d^2 + mu^2)` of magnitude in [0, 1). GHM-R harmonizes this loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import { elementwiseLoss } from './elementwise.js';
import type { ReduceOptions } from './reduce.js';

/** Options of {@link asl1Loss}. */
export interface ASL1Options extends ReduceOptions {
  /** Smoothing mu > 0; default 0.02. */
  mu?: number;
}

/** Element-wise ASL1 of `pred - target`. Call inside `tf.tidy`. */
export function asl1Elementwise(x: tf.Tensor, y: tf.Tensor, mu: number): tf.Tensor {
  const d = tf.sub(x, y);
  return tf.sub(tf.sqrt(tf.add(tf.mul(d, d), mu * mu)), mu);
}

/** @param pred `[N, 4]` (any shape), float32; `target` and optional `weight` the same shape. */
export function asl1Loss(
  pred: tf.Tensor,
  target: tf.Tensor,
  weight?: tf.Tensor,
  options: ASL1Options = {},
): tf.Tensor {
  const mu = options.mu ?? 0.02;
  if (typeof mu !== 'number' || !Number.isFinite(mu) || mu <= 0) {
    throw new Error(`asl1Loss: \`mu\` must be a finite number > 0, got ${String(mu)}`);
  }
  return elementwiseLoss('asl1Loss', pred, target, weight, options, (x, y) => asl1Elementwise(x, y, mu));
}

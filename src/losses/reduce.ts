/**
 * The loss contract shared by every loss of the library and mmdetection's `weight_reduce_loss`:
 *
 *   loss = elementwise * weight          (weight optional, broadcast to the element shape)
 *   reduction 'none' -> loss             (avgFactor allowed and ignored, as mmdetection)
 *   reduction 'sum'  -> sum(loss)        (avgFactor not allowed)
 *   reduction 'mean' -> mean(loss)       without avgFactor (mean over all elements, weights included)
 *                    -> sum(loss) / avgFactor   with avgFactor (RetinaNet: number of positive anchors, >= 1)
 */
import * as tf from '@tensorflow/tfjs-core';

export type Reduction = 'none' | 'mean' | 'sum';
export const REDUCTIONS: readonly Reduction[] = ['none', 'mean', 'sum'];

/** Options every loss call accepts. */
export interface ReduceOptions {
  /** How element losses are combined; default 'mean'. */
  reduction?: Reduction;
  /** With reduction 'mean': divide the sum by this (> 0) instead of taking the mean. Default: none. */
  avgFactor?: number;
  /**
   * Check inputs for NaN/Infinity (and the other value conditions of the loss) with one fused reduction and
   * one small read-back; default true. Turn off in training loops for speed once the data path is trusted.
   */
  validate?: boolean;
}

/** Validates `reduction` and `avgFactor`; returns the reduction to use. */
export function checkReduceOptions(loss: string, options: ReduceOptions): Reduction {
  const reduction = options.reduction ?? 'mean';
  if (!REDUCTIONS.includes(reduction)) {
    throw new Error(
      `${loss}: \`reduction\` must be one of ${REDUCTIONS.join(', ')}, got ${JSON.stringify(reduction)}`,
    );
  }
  const f = options.avgFactor;
  if (f !== undefined) {
    if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0) {
      throw new Error(
        `${loss}: \`avgFactor\` must be a finite number > 0, got ${String(f)}; use max(1, numPositives)`,
      );
    }
    if (reduction === 'sum') {
      throw new Error(`${loss}: \`avgFactor\` can not be used with reduction 'sum' (use 'mean')`);
    }
  }
  return reduction;
}

/** Block length of {@link stableSum}. */
const SUM_BLOCK = 256;

/**
 * Sum of all elements, accumulated in blocks of 256 (a sum of block sums, recursively). The wasm backend's `Sum`
 * adds sequentially in float32, which loses ~1e-4 relative on 1e5 elements; the blocked form stays within a few
 * units in the last place, close to torch's pairwise sums; an empty tensor sums to 0 on every backend.
 * Differentiable (reshape, pad, sum). Call inside `tf.tidy`.
 */
export function stableSum(x: tf.Tensor): tf.Scalar {
  let v: tf.Tensor = tf.reshape(x, [-1]);
  // The wasm backend's Sum of an empty tensor returns uninitialised memory: sum [0] instead (still differentiable).
  if (v.size === 0) return tf.sum(tf.concat([v, tf.zeros([1], v.dtype)]));
  while (v.size > SUM_BLOCK) {
    const rows = Math.ceil(v.size / SUM_BLOCK);
    const padded = rows * SUM_BLOCK > v.size ? tf.pad(v as tf.Tensor1D, [[0, rows * SUM_BLOCK - v.size]]) : v;
    v = tf.sum(tf.reshape(padded, [rows, SUM_BLOCK]), 1);
  }
  return tf.sum(v);
}

/**
 * Applies the optional element weight and the reduction. Must be called inside `tf.tidy` (or its result
 * disposed by the caller).
 */
export function weightReduce(
  elementwise: tf.Tensor,
  weight: tf.Tensor | undefined,
  reduction: Reduction,
  avgFactor: number | undefined,
): tf.Tensor {
  const loss = weight === undefined ? elementwise : tf.mul(elementwise, weight);
  if (reduction === 'none') return loss;
  if (reduction === 'sum') return stableSum(loss);
  return tf.div(stableSum(loss), avgFactor === undefined ? Math.max(loss.size, 1) : avgFactor);
}

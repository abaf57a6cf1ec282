/**
 * Sigmoid focal loss (Lin et al. 2017), torchvision `ops.sigmoid_focal_loss` formula:
 *
 *   p = sigmoid(x), ce = BCEWithLogits(x, y), p_t = p*y + (1-p)*(1-y)
 *   loss = ce * (1 - p_t)^gamma * (alpha*y + (1-alpha)*(1-y))      (no alpha factor when alpha < 0)
 */
import * as tf from '@tensorflow/tfjs-core';
import { bceWithLogitsElementwise } from './bce.js';
import { elementwiseLoss } from './elementwise.js';
import type { ReduceOptions } from './reduce.js';

/** Options of {@link sigmoidFocalLoss}. */
export interface FocalOptions extends ReduceOptions {
  /** Weight of positives in (0, 1), negatives get 1 - alpha; < 0 disables it. Default 0.25. */
  alpha?: number;
  /** Focusing exponent >= 0; default 2. */
  gamma?: number;
}

/**
 * @param pred logits `[N, C]` (any shape), float32.
 * @param target same shape, 0/1 (one-hot; all zeros = background).
 * @param weight optional, same shape, >= 0.
 */
export function sigmoidFocalLoss(
  pred: tf.Tensor,
  target: tf.Tensor,
  weight?: tf.Tensor,
  options: FocalOptions = {},
): tf.Tensor {
  const alpha = options.alpha ?? 0.25;
  const gamma = options.gamma ?? 2;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha > 1) {
    throw new Error(
      `sigmoidFocalLoss: \`alpha\` must be in [0, 1] (or < 0 to disable), got ${String(alpha)}`,
    );
  }
  if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma < 0) {
    throw new Error(`sigmoidFocalLoss: \`gamma\` must be a finite number >= 0, got ${String(gamma)}`);
  }
  return elementwiseLoss('sigmoidFocalLoss', pred, target, weight, options, (x, y) => {
    const p = tf.sigmoid(x);
    const ce = bceWithLogitsElementwise(x, y);
    const oneMinusY = tf.sub(1, y);
    const pT = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), oneMinusY));
    const q = tf.sub(1, pT);
    const mod =
      gamma === 2 ? tf.square(q) : gamma === 1 ? q : gamma === 0 ? tf.onesLike(q) : tf.pow(q, gamma);
    const loss = tf.mul(ce, mod);
    if (alpha < 0) return loss;
    return tf.mul(tf.add(tf.mul(y, alpha), tf.mul(oneMinusY, 1 - alpha)), loss);
  });
}

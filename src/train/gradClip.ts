/**
 * Gradient clipping by global L2 norm (PyTorch `clip_grad_norm_(params, max_norm, norm_type=2)`, as
 * mmdetection's `optimizer_config.grad_clip = dict(max_norm=35, norm_type=2)`):
 *   `total = sqrt(sum_i ||g_i||^2)`, `coef = max_norm / (total + 1e-6)`, gradients scaled by `coef` when
 *   `coef < 1`. The trainer reports `total` (the pre-clip norm) in its log.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapFloat32, isWasmHeapBackend } from '../engine/kernels/kernelTensors.js';

/**
 * The global L2 norm of `grads` (any shapes), read back as a number. On the wasm backend the squares are
 * summed in JS over the heap (in float64, one loop per gradient) instead of two kernel calls per gradient and
 * a read-back; elsewhere with tf ops (float32 sums).
 */
export function globalNorm(grads: readonly tf.Tensor[]): number {
  if (grads.length === 0) return 0;
  const backend = tf.backend();
  if (isWasmHeapBackend(backend) && grads.every((g) => g.dtype === 'float32')) {
    let sum = 0;
    for (const g of grads) {
      const [heap, start] = heapFloat32(backend, g);
      for (let i = start, end = start + g.size; i < end; i++) sum += heap[i]! * heap[i]!;
    }
    return Math.sqrt(sum);
  }
  const total = tf.tidy(() => {
    const squares = grads.map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(tf.addN(squares));
  });
  const value = total.dataSync()[0]!;
  total.dispose();
  return value;
}

/**
 * The factor to multiply gradients by: 1 when `maxNorm` is null (no clipping) or the norm is within it,
 * `maxNorm / (norm + 1e-6)` otherwise (PyTorch's epsilon).
 */
export function clipCoefficient(norm: number, maxNorm: number | null): number {
  if (maxNorm === null) return 1;
  if (!(maxNorm > 0)) throw new Error(`clipCoefficient: maxNorm must be > 0 or null, got ${maxNorm}`);
  const coef = maxNorm / (norm + 1e-6);
  return coef < 1 ? coef : 1;
}

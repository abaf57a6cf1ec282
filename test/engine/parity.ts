/**
 * Helpers shared by the engine tests: seeded tensors and a normwise relative error.
 */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../../src/utils/random.js';

/** Values drawn uniformly from [-1, 1) with a seeded generator, as a plain array. */
export function randomValues(size: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-1, 1);
  return out;
}

/** A float32 tensor of the given shape with seeded values in [-1, 1). */
export function randomTensor<R extends tf.Rank>(shape: number[], seed: number): tf.Tensor<R> {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(randomValues(size, seed), shape as tf.ShapeMap[R]) as tf.Tensor<R>;
}

/**
 * Normwise relative error max|a - b| / max(max|b|, 1e-12): 0 for identical arrays, and of the order of
 * float32 rounding (1e-7) for two correct implementations that sum in different orders.
 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths differ (${a.length} vs ${b.length})`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Runs `fn` on the named backend (set up with the project's kernels) and restores the previous one. */
export async function onBackend<T>(name: string, fn: () => T): Promise<T> {
  const previous = tf.getBackend() as string | undefined;
  await tf.setBackend(name);
  await tf.ready();
  try {
    return await fn();
  } finally {
    if (previous !== undefined) await tf.setBackend(previous);
  }
}

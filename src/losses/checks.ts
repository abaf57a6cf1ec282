/**
 * Input checks shared by the losses: static shape checks, and value checks (NaN/Infinity, ranges) that are
 * fused into one small read-back per call. Every error names the argument, what was expected and what was got.
 *
 * A value check is a scalar that is exactly 0 when the input is fine (anything else, NaN included, fails), built
 * from float arithmetic only (`sum(x * 0)` is NaN exactly when x holds NaN or Infinity): comparisons and bool
 * casts are several times slower than float ops on wasm. The number of offending elements for the message is
 * counted only once a check has failed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stableSum } from './reduce.js';

/** A value condition evaluated on device. */
export interface ValueCheck {
  /** The argument's name, e.g. `pred`. */
  arg: string;
  /** What was expected, e.g. `finite values`. */
  expected: string;
  /** float32 scalar: 0 when the condition holds; a count of offending elements, or any non-zero/NaN value. */
  count: tf.Scalar;
  /** Counts the offending elements, run only after `count` failed (for the message). */
  recount?: () => tf.Scalar;
  /** Optional extra scalars read back with the check to describe what was got (e.g. min and max). */
  details?: { label: string; value: tf.Scalar }[];
}

/** Throws unless `x` has exactly `shape`; `what` explains the expectation (e.g. "the shape of `pred`"). */
export function expectShape(loss: string, arg: string, x: tf.Tensor, shape: number[], what: string): void {
  const same = x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i]);
  if (!same) {
    throw new Error(
      `${loss}: \`${arg}\` has shape [${x.shape.join(', ')}], expected [${shape.join(', ')}] (${what})`,
    );
  }
}

/** Throws unless `x` is a tf.Tensor. */
export function expectTensor(loss: string, arg: string, x: unknown): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) {
    throw new Error(`${loss}: \`${arg}\` must be a tf.Tensor, got ${x === null ? 'null' : typeof x}`);
  }
}

/** Number of NaN/±Infinity elements of `x`, as a float32 scalar. Call inside `tf.tidy`. */
export function countNonFinite(x: tf.Tensor): tf.Scalar {
  if (x.dtype === 'int32' || x.dtype === 'bool') return tf.scalar(0);
  return stableSum(tf.cast(tf.logicalNot(tf.isFinite(x)), 'float32'));
}

/** Number of elements of `x` below zero, as a float32 scalar. Call inside `tf.tidy`. */
export function countNegative(x: tf.Tensor): tf.Scalar {
  return stableSum(tf.cast(tf.less(x, 0), 'float32'));
}

/** Number of elements of `x` that are neither 0 nor 1, as a float32 scalar. Call inside `tf.tidy`. */
export function countNonBinary(x: tf.Tensor): tf.Scalar {
  return stableSum(tf.cast(tf.logicalAnd(tf.notEqual(x, 0), tf.notEqual(x, 1)), 'float32'));
}

/** Check: `x` holds no NaN or Infinity (`sum(x * 0)` is 0, else NaN). Call inside `tf.tidy`. */
export function finiteCheck(
  arg: string,
  x: tf.Tensor,
  expected = 'finite values (no NaN or Infinity)',
): ValueCheck {
  const count =
    x.dtype === 'int32' || x.dtype === 'bool' ? tf.scalar(0) : (stableSum(tf.mul(x, 0)) as tf.Scalar);
  return { arg, expected, count, recount: () => countNonFinite(x) };
}

/** Check: `x >= 0` everywhere (`sum(relu(-x))` is 0). Call inside `tf.tidy`. */
export function nonNegativeCheck(arg: string, x: tf.Tensor): ValueCheck {
  return {
    arg,
    expected: 'values >= 0',
    count: stableSum(tf.relu(tf.neg(x))) as tf.Scalar,
    recount: () => countNegative(x),
  };
}

/** Check: every element of `x` is 0 or 1 (`sum(|x - x^2|)` is 0). Call inside `tf.tidy`. */
export function binaryCheck(arg: string, x: tf.Tensor): ValueCheck {
  const count = stableSum(tf.abs(tf.sub(x, tf.mul(x, x)))) as tf.Scalar;
  return { arg, expected: 'one-hot values 0 or 1', count, recount: () => countNonBinary(x) };
}

/** The usual checks: non-finite values in each named tensor. */
export function finiteChecks(tensors: Record<string, tf.Tensor | undefined>): ValueCheck[] {
  const out: ValueCheck[] = [];
  for (const [arg, t] of Object.entries(tensors)) if (t !== undefined) out.push(finiteCheck(arg, t));
  return out;
}

/** Packs the checks into one float32 vector (counts, then details), in order. Call inside `tf.tidy`. */
export function packChecks(checks: ValueCheck[]): tf.Tensor1D {
  const parts: tf.Scalar[] = [];
  for (const c of checks) {
    parts.push(c.count);
    for (const d of c.details ?? []) parts.push(tf.cast(d.value, 'float32'));
  }
  return parts.length === 0
    ? tf.tensor1d([], 'float32')
    : (tf.stack(parts.map((p) => tf.cast(p, 'float32'))) as tf.Tensor1D);
}

/** Number of values {@link packChecks} produces. */
export function packedLength(checks: ValueCheck[]): number {
  return checks.reduce((n, c) => n + 1 + (c.details?.length ?? 0), 0);
}

/** Throws on the first failed check, given the values read back from {@link packChecks}. */
export function throwOnFailedChecks(
  loss: string,
  checks: ValueCheck[],
  values: ArrayLike<number>,
  offset = 0,
): void {
  let i = offset;
  for (const c of checks) {
    let count = values[i]!;
    const details = (c.details ?? []).map((d, k) => `${d.label} ${values[i + 1 + k]}`);
    i += 1 + (c.details?.length ?? 0);
    if (count !== 0) {
      if (c.recount !== undefined) {
        const recounted = tf.tidy(c.recount);
        count = recounted.dataSync()[0]!;
        recounted.dispose();
      }
      throw new Error(
        `${loss}: \`${c.arg}\` must hold ${c.expected}; got ${count} element${count === 1 ? '' : 's'} that do not` +
          (details.length > 0 ? ` (${details.join(', ')})` : ''),
      );
    }
  }
}

/** Runs the checks with one read-back and throws on the first failure. Disposes the check tensors. */
export function runChecks(loss: string, build: () => ValueCheck[]): void {
  let checks: ValueCheck[] = [];
  const packed = tf.tidy(() => {
    checks = build();
    return packChecks(checks);
  });
  const values = packed.dataSync();
  packed.dispose();
  throwOnFailedChecks(loss, checks, values);
}

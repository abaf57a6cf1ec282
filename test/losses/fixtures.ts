/**
 * Shared pieces of the loss tests: the float64 reference BCE, the small input pair the bad-input tests call every
 * loss with, and the loop that checks each bad input's error and that its error path leaks no tensor.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

/** BCE with logits of one element in float64: `max(x, 0) - x * y + log(1 + exp(-|x|))`. */
export function bce(x: number, y: number): number {
  return Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Logits `x` [2, 2] and one-hot targets `y` [2, 2] (one positive) for the bad-input tests; the caller disposes. */
export function smallLogitsAndTargets(): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = tf.tensor2d([
    [0.5, -1],
    [2, 0],
  ]);
  const y = tf.tensor2d([
    [1, 0],
    [0, 0],
  ]);
  return { x, y };
}

/** A call that must throw, and the error it must throw. */
export type ErrorCase = [() => unknown, RegExp];

/**
 * Asserts that every case throws its error and leaves `tf.memory().numTensors` unchanged.
 * @param options `tidy`: run each case inside `tf.tidy`, for cases that build their own input tensors (the tidy
 *   frees those inputs; a leak inside the loss is then not seen, so cases whose inputs are built outside use false).
 */
export function assertErrorCases(cases: ErrorCase[], options: { tidy: boolean }): void {
  for (const [f, re] of cases) {
    const n0 = tf.memory().numTensors;
    assert.throws(options.tidy ? () => tf.tidy(() => void f()) : f, re);
    assert.equal(tf.memory().numTensors, n0, `leak on the error path: ${re}`);
  }
}

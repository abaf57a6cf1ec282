/**
 * Adapter from the library's loss contract `(pred, target, weight?, options)` to a `tf.layers` loss
 * `(yTrue, yPred) => Scalar`, for `model.compile({ loss: asLayersLoss(new GHMC(), { ignoreValue: -1 }) })`.
 *
 * Shapes: `yPred: [..., C]` of any rank, e.g. a detection head's `[B, A, C]` logits (B images, A anchors, C
 * classes without background), is flattened to `[N, C]` (N = B * A) before the loss sees it; `yTrue` has
 * `yPred`'s shape (tf.layers checks that).
 *
 * Ignore, in `yTrue`: with `ignoreValue` set, the elements of `yTrue` equal to it get label weight 0 (and
 * target 0), so they add nothing to the loss, its gradient or GHM's statistics. For classification (GHM-C,
 * focal loss, BCE) the encoding is one-hot rows with -1 as the ignore value: 1 = positive, 0 = negative,
 * -1 = ignored, and an anchor the assigner ignores (IoU between the thresholds) is a row of -1. For regression
 * targets (GHM-R, smooth L1), any value can be a real target, so use `ignoreValue: NaN`: NaN marks an element
 * without a target (a negative anchor's row).
 *
 * State: a GHM loss updates its EMA state only while a gradient tape records, i.e. inside `model.fit`'s
 * training step (`optimizer.minimize`); `model.evaluate` and `fit`'s validation compute the same loss value
 * and leave the state as it was (`updateState: false`), and `model.predict` does not call losses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isRecordingGradients } from './gradientDensity.js';
import type { ReduceOptions } from './reduce.js';

/** A `tf.layers` loss, as `model.compile({ loss })` takes it. */
export type LayersLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** Any loss of the library as a function (GHM losses: their bound `call`). */
export type LossFunction<O extends ReduceOptions = ReduceOptions> = (
  pred: tf.Tensor,
  target: tf.Tensor,
  weight: tf.Tensor | undefined,
  options: O,
) => tf.Tensor;

/** A loss function of any options type (the options are typed after it in {@link asLayersLoss}). */
type AnyLossFunction = (
  pred: tf.Tensor,
  target: tf.Tensor,
  weight: tf.Tensor | undefined,
  options: never,
) => tf.Tensor;

/**
 * A loss object: a `call` and a state (`GHMC`, `GHMR`). The state is part of the type so that a plain function,
 * which also has a `call` (`Function.prototype.call`), is never taken for one.
 */
export interface LossObject<F extends AnyLossFunction> {
  readonly call: F;
  getState(): unknown;
}

/** Options of the adapter itself, next to the loss's own. */
export interface LayersLossOptions {
  /**
   * Elements of `yTrue` equal to this are ignored (weight 0, target 0): -1 for one-hot classification
   * targets, NaN for regression targets. Default: none (every element counts, as `yTrue` is the target).
   */
  ignoreValue?: number;
}

/** The options of {@link asLayersLoss} for the loss `F`: the loss's own and the adapter's. */
type AdapterOptions<F extends AnyLossFunction> = NonNullable<Parameters<F>[3]> & LayersLossOptions;

/**
 * @param loss a loss function (`sigmoidFocalLoss`, `bceWithLogitsLoss`, ...) or a loss object with a `call`
 *   (a `GHMC` or `GHMR` instance, whose state the caller keeps: `getState()` for checkpoints); or its `call`.
 * @param options the loss's own options (typed after it), passed on every call, and {@link LayersLossOptions};
 *   `reduction` is forced to 'mean' unless 'sum' is asked for, so the result is the scalar tf.layers expects.
 */
export function asLayersLoss<F extends AnyLossFunction>(loss: F, options?: AdapterOptions<F>): LayersLoss;
export function asLayersLoss<F extends AnyLossFunction>(
  loss: LossObject<F>,
  options?: AdapterOptions<F>,
): LayersLoss;
export function asLayersLoss(
  loss: AnyLossFunction | LossObject<AnyLossFunction>,
  options?: ReduceOptions & LayersLossOptions,
): LayersLoss {
  const call = (typeof loss === 'function' ? loss : loss?.call) as unknown as LossFunction | undefined;
  if (typeof call !== 'function') {
    throw new Error(
      `asLayersLoss: \`loss\` must be a loss function or an object with a call method (GHMC, GHMR), got ${String(loss)}`,
    );
  }
  const { ignoreValue, ...rest } = { ...options };
  if (ignoreValue !== undefined && typeof ignoreValue !== 'number')
    throw new Error(
      `asLayersLoss: \`ignoreValue\` must be a number (e.g. -1, or NaN), got ${String(ignoreValue)}`,
    );
  const lossOptions: ReduceOptions = { ...rest, reduction: rest.reduction === 'sum' ? 'sum' : 'mean' };
  return (yTrue, yPred) =>
    tf.tidy(() => {
      if (yTrue.shape.join(',') !== yPred.shape.join(',')) {
        throw new Error(
          `asLayersLoss: yTrue has shape [${yTrue.shape}], expected yPred's shape [${yPred.shape}]` +
            (ignoreValue === undefined ? '' : `, with ${ignoreValue} for ignored elements`),
        );
      }
      // [..., C] -> [N, C]: the losses take one row per anchor (all images and anchors of the batch).
      const c = yPred.shape[yPred.rank - 1]!;
      const pred = yPred.rank > 2 ? tf.reshape(yPred, [-1, c]) : yPred;
      let target = yTrue.rank > 2 ? tf.reshape(yTrue, [-1, c]) : yTrue;
      let weight: tf.Tensor | undefined;
      if (ignoreValue !== undefined) {
        // valid: 1 where the element is a real target; NaN != NaN, so x == x finds the non-NaN elements.
        const valid = Number.isNaN(ignoreValue) ? tf.equal(target, target) : tf.notEqual(target, ignoreValue);
        weight = tf.cast(valid, 'float32');
        target = tf.where(valid, target, tf.zerosLike(target));
      }
      // The GHM EMA moves only in a training step (inside the tape), never in evaluate().
      const updateState = isRecordingGradients();
      return call(pred, target, weight, { ...lossOptions, updateState } as ReduceOptions) as tf.Scalar;
    });
}

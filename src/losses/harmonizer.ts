/**
 * The per-call part that GHM-C and GHM-R share once each element has its bin index: one read-back, the
 * harmonizing weights, the statistics of the last call and the EMA state. Each loss holds a {@link Harmonizer}
 * (composition) and keeps only what differs: its gradient norm, its blocks of the index space, its normaliser
 * and its loss formula.
 *
 * Per call ({@link Harmonizer.weigh}):
 *   1. one `dataSync` of the counts of every entry of the index space, the normaliser and the value checks;
 *      failed checks throw (before the EMA state changes);
 *   2. tot = max(normaliser, 1); the EMA update and the per-bin weights w_j (./gradientDensity.ts);
 *   3. the per-element weights `w_bin(k) * scale`, gathered from a table over the index space (0 for ignored
 *      elements), with scale = lossWeight / tot for 'mean' and lossWeight otherwise;
 *   4. the statistics of the call, with the unscaled per-element weights when asked for.
 * {@link harmonizedLoss} wraps a loss's forward pass in `tf.customGrad`: the gradient is analytic, since the
 * weights must carry no gradient (tfjs has no `stopGradient`).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  GradientDensity,
  binCountsOf,
  countBins,
  weightLookup,
  type BinThresholds,
  type GradientDensityState,
  type GradientDensityStats,
  isRecordingGradients,
} from './gradientDensity.js';
import { packChecks, throwOnFailedChecks, type ValueCheck } from './checks.js';
import { stableSum, type Reduction, type ReduceOptions } from './reduce.js';

/** Options of a GHM loss call: the shared contract's, plus whether the EMA state moves. */
export interface GHMCallOptions extends ReduceOptions {
  /**
   * Keep this call's update of the EMA state; default true. False gives the loss and gradient a training call
   * would give and leaves the state as it was (evaluation, validation); `asLayersLoss` passes false outside
   * `model.fit`'s gradient tape.
   */
  updateState?: boolean;
}

/** Statistics of the last call, plus the per-element weights when `recordWeights` is on (owned by the loss). */
export interface GHMStats extends GradientDensityStats {
  weights?: tf.Tensor;
}

/** The hyper-parameters a {@link Harmonizer} validates and uses. */
export interface HarmonizerOptions {
  /** Number of unit regions M, an integer >= 1. */
  bins: number;
  /** EMA momentum in [0, 1); 0 disables the state. */
  momentum: number;
  /** Factor on the loss, finite and >= 0. */
  lossWeight: number;
}

/** The weights of one call, from {@link Harmonizer.weigh}. */
export interface Harmonized {
  /** float32, the shape of `index`: `w_bin(k) * scale` per element, 0 for ignored elements. */
  wScaled: tf.Tensor;
  /** The normaliser max(normaliser, 1), a float32 value. */
  tot: number;
}

/** Bin weights, EMA state and last-call statistics of one GHM loss. */
export class Harmonizer {
  readonly lossWeight: number;
  readonly thresholds: BinThresholds;
  private readonly density: GradientDensity;
  private stats: GHMStats | null = null;

  /**
   * @param loss the loss's name, for error messages.
   * @param options validated here, in the order bins, momentum, lossWeight.
   * @param thresholdsOf builds the index space's threshold tables, called once `bins` is known to be valid.
   * @param validBlocks how many leading blocks of the index space hold valid elements (the rest are ignored).
   */
  constructor(
    private readonly loss: string,
    options: HarmonizerOptions,
    thresholdsOf: (bins: number) => BinThresholds,
    private readonly validBlocks: number,
  ) {
    this.density = new GradientDensity(loss, options.bins, options.momentum);
    this.lossWeight = options.lossWeight;
    if (typeof this.lossWeight !== 'number' || !Number.isFinite(this.lossWeight) || this.lossWeight < 0) {
      throw new Error(
        `${loss}: \`lossWeight\` must be a finite number >= 0, got ${String(this.lossWeight)}` +
          (this.lossWeight < 0 ? ' (a negative weight would maximise the loss)' : ''),
      );
    }
    this.thresholds = thresholdsOf(options.bins);
  }

  /**
   * Steps 1-4 of the module comment. Call inside the loss's `tf.customGrad` forward (or `tf.tidy`).
   *
   * @param index int32, any shape: each element's entry of the index space (from `placeInBins`).
   * @param normaliser float32 scalar: the number of valid elements (GHM-C) or the sum of label weights (GHM-R).
   * @param checks value checks of the inputs, read back with the counts.
   * @param options `mean`: divide the scale by tot; `recordWeights`: keep the per-element weights in the stats;
   *   `updateState`: keep the EMA update of this call (default true; false: same weights, state unchanged).
   */
  weigh(
    index: tf.Tensor,
    normaliser: tf.Tensor,
    checks: ValueCheck[],
    options: { mean: boolean; recordWeights: boolean; updateState?: boolean },
  ): Harmonized {
    const thresholds = this.thresholds;
    const slotCounts = countBins(index, thresholds);
    // The one read-back of the call: counts of the index space, the normaliser, check results.
    const size = thresholds.blocks * thresholds.slots;
    const packed = tf.concat([slotCounts, tf.reshape(normaliser, [1]), packChecks(checks)]);
    const values = packed.dataSync();
    throwOnFailedChecks(this.loss, checks, values, size + 1);

    const binCounts = binCountsOf(values, thresholds, this.validBlocks);
    const tot = Math.max(values[size]!, 1);
    const { weights, nNonEmpty } = this.density.weightTable(binCounts, tot, options.updateState ?? true);
    const scale = options.mean ? this.lossWeight / tot : this.lossWeight;
    const wScaled = this.gatherWeights(weights, index, scale);
    const w = options.recordWeights ? this.gatherWeights(weights, index, 1) : null;
    this.record(binCounts, nNonEmpty, tot, weights, w);
    return { wScaled, tot };
  }

  private gatherWeights(weights: Float32Array, index: tf.Tensor, scale: number): tf.Tensor {
    return tf.gather(tf.tensor1d(weightLookup(weights, this.thresholds, this.validBlocks, scale)), index);
  }

  private record(
    binCounts: number[],
    nNonEmpty: number,
    tot: number,
    weights: Float32Array,
    w: tf.Tensor | null,
  ): void {
    this.stats?.weights?.dispose();
    this.stats = {
      binCounts,
      nNonEmpty,
      tot,
      binWeights: Array.from(weights),
      accSum: this.density.accSumCopy(),
      ...(w !== null ? { weights: tf.keep(w) } : {}),
    };
  }

  /** Statistics of the last call, or null before the first. `weights` (if recorded) is owned by the loss. */
  lastStats(): GHMStats | null {
    return this.stats;
  }

  /** The EMA state, JSON-serialisable (for checkpoints). */
  getState(): GradientDensityState {
    return this.density.getState();
  }

  setState(state: GradientDensityState): void {
    this.density.setState(state);
  }

  /** Releases the recorded weights tensor, if any. */
  dispose(): void {
    this.stats?.weights?.dispose();
    if (this.stats !== null) delete this.stats.weights;
  }
}

/** What a GHM loss's forward pass computes from `pred` (see {@link harmonizedLoss}). */
export interface HarmonizedForward {
  /** The weighted loss per element, `wScaled * elementLoss`, the shape of `pred`. */
  weighted: tf.Tensor;
  /** d weighted / d pred, the shape of `pred`; built only while a gradient tape records. */
  grad: () => tf.Tensor;
}

/**
 * `forward(pred)` as a loss usable inside `tf.grads`, `tf.variableGrads` and `optimizer.minimize` on every
 * backend: the value is `weighted` ('none') or its sum ('mean' and 'sum': the scale of `wScaled` holds the
 * division by tot), and the gradient w.r.t. `pred` is `dy * grad()`.
 */
export function harmonizedLoss(
  pred: tf.Tensor,
  reduction: Reduction,
  forward: (x: tf.Tensor) => HarmonizedForward,
): tf.Tensor {
  const f = (x: tf.Tensor, save: tf.GradSaveFunc) => {
    const { weighted, grad } = forward(x);
    const value = reduction === 'none' ? weighted : stableSum(weighted);
    if (isRecordingGradients()) save([grad()]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0]!)],
    };
  };
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0])(pred);
}

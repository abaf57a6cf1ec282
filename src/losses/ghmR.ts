/**
 * GHM-R: "authentic" smooth L1 (ASL1) harmonized by the density of its gradient norm (paper eq. 17-19;
 * mmdetection `GHMR`).
 *
 *   d     = pred - target
 *   ASL1  = sqrt(d^2 + mu^2) - mu
 *   g     = |d| / sqrt(d^2 + mu^2)              in [0, 1); rounds to 1 for |d| >> mu
 *   w     = tot / (S_bin * n)  (./gradientDensity.ts), 0 for ignored elements (label weight 0)
 *   tot   = max(sum(labelWeight), 1)            the SUM of label weights (GHM-C uses the count of valid elements)
 *   loss  = lossWeight * sum(w * ASL1) / tot
 *   dloss/dpred = lossWeight * w * d / sqrt(d^2 + mu^2) / tot     (analytic, through tf.customGrad)
 *
 * The last bin edge is 1e3 instead of 1: g < 1 mathematically but equals 1 in float32 once |d| >~ 1e3 mu, and
 * such elements must still land in the last bin. g is computed with the reference's float32 operations
 * (`|d| / sqrt(d*d + mu*mu)`, each correctly rounded on every backend), so bins match the reference bit for bit:
 * the nearest edge `s = round(g * bins)` is found, then one comparison with the float32 edge s decides between
 * bins s - 1 and s (./gradientDensity.ts).
 * `avgFactor` is ignored (as the reference).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  binEdges,
  nearestEdgeSlot,
  normThresholds,
  placeInBins,
  type GradientDensityState,
} from './gradientDensity.js';
import { Harmonizer, harmonizedLoss, type GHMCallOptions, type GHMStats } from './harmonizer.js';
import { checkReduceOptions, stableSum } from './reduce.js';
import { finiteCheck, nonNegativeCheck, expectShape, expectTensor, type ValueCheck } from './checks.js';

const LOSS = 'GHMR';

/** GHM-R's last edge: see the module comment. */
export const GHMR_LAST_EDGE = 1e3;

/** Options of {@link GHMR}. */
export interface GHMROptions {
  /** ASL1 smoothing mu > 0; default 0.02. */
  mu?: number;
  /** Number of unit regions; default 10. */
  bins?: number;
  /** EMA momentum in [0, 1); default 0.7. */
  momentum?: number;
  /** Factor on the loss; default 1 (mmdetection's RetinaNet-GHM config uses 10). */
  lossWeight?: number;
  /** Default of the per-call `validate` option; default true. */
  validate?: boolean;
  /** Keep the per-element weights of the last call in `lastStats().weights`; default false. */
  recordWeights?: boolean;
}

/** GHM-R loss with its EMA state; usable inside `tf.grads`/`optimizer.minimize` on every backend. */
export class GHMR {
  readonly mu: number;
  readonly bins: number;
  readonly momentum: number;
  readonly lossWeight: number;
  readonly validate: boolean;
  recordWeights: boolean;
  private readonly harmonizer: Harmonizer;

  constructor(options: GHMROptions = {}) {
    this.mu = options.mu ?? 0.02;
    this.bins = options.bins ?? 10;
    this.momentum = options.momentum ?? 0.7;
    this.lossWeight = options.lossWeight ?? 1;
    this.validate = options.validate ?? true;
    this.recordWeights = options.recordWeights ?? false;
    if (typeof this.mu !== 'number' || !Number.isFinite(this.mu) || this.mu <= 0) {
      throw new Error(`${LOSS}: \`mu\` must be a finite number > 0, got ${String(this.mu)}`);
    }
    const { bins, momentum, lossWeight } = this;
    // 1 valid block (see normThresholds)
    const thresholdsOf = (m: number) => normThresholds(binEdges(m, GHMR_LAST_EDGE));
    this.harmonizer = new Harmonizer(LOSS, { bins, momentum, lossWeight }, thresholdsOf, 1);
  }

  /**
   * The loss of one call. A bound function (a property, not a method), so `const f = loss.call` and
   * `asLayersLoss(loss.call)` work.
   *
   * @param pred box deltas `[N, 4]` (or `[N, 4C]`, any shape), float32.
   * @param target encoded targets, same shape.
   * @param labelWeight same shape, >= 0 (1 on positives' coordinates, 0 elsewhere); valid where > 0, and
   *   `tot = max(sum(labelWeight), 1)`. Default: all ones.
   * @param options `reduction` 'mean' (sum / tot, default), 'sum' or 'none'; `avgFactor` ignored; `validate`;
   *   `updateState` (default true) keeps the EMA update.
   * @returns the loss, a scalar (or per element for 'none').
   */
  readonly call = (
    pred: tf.Tensor,
    target: tf.Tensor,
    labelWeight?: tf.Tensor,
    options: GHMCallOptions = {},
  ): tf.Tensor => {
    expectTensor(LOSS, 'pred', pred);
    expectTensor(LOSS, 'target', target);
    if (pred.dtype !== 'float32')
      throw new Error(`${LOSS}: \`pred\` has dtype ${pred.dtype}, expected float32`);
    expectShape(LOSS, 'target', target, pred.shape, 'the shape of `pred`');
    if (labelWeight !== undefined) {
      expectTensor(LOSS, 'labelWeight', labelWeight);
      expectShape(LOSS, 'labelWeight', labelWeight, pred.shape, 'the shape of `pred`');
    }
    const reduction = checkReduceOptions(LOSS, { ...options, avgFactor: undefined });
    const validate = options.validate ?? this.validate;
    const M = this.bins;
    const size = pred.size;
    const muSq = this.mu * this.mu; // torch: python float mu * mu, rounded once to float32

    const thresholds = this.harmonizer.thresholds;
    return harmonizedLoss(pred, reduction, (x) => {
      const slots = thresholds.slots;
      const t = tf.cast(target, 'float32');
      const lw = labelWeight === undefined ? undefined : tf.cast(labelWeight, 'float32');
      const d = tf.sub(x, t);
      const root = tf.sqrt(tf.add(tf.mul(d, d), muSq)); // sqrt(d^2 + mu^2)
      const g = tf.div(tf.abs(d), root);
      // block 0 = valid, block 1 = ignored (label weight 0): offset (1 - step(lw)) * slots
      const blockOffset = lw === undefined ? undefined : tf.mul(tf.step(lw), -slots);
      const slot = nearestEdgeSlot(g, M, blockOffset, lw === undefined ? 0 : slots);
      const index = placeInBins(g, slot, thresholds);
      const weightSum = lw === undefined ? tf.scalar(size) : stableSum(lw);
      const checks: ValueCheck[] = [];
      if (validate) {
        checks.push(finiteCheck('pred', x));
        checks.push(finiteCheck('target', t));
        if (lw !== undefined) {
          checks.push(finiteCheck('labelWeight', lw, 'finite values'));
          checks.push(nonNegativeCheck('labelWeight', lw));
        }
      }
      const { wScaled } = this.harmonizer.weigh(index, weightSum, checks, {
        mean: reduction === 'mean',
        recordWeights: this.recordWeights,
        updateState: options.updateState ?? true,
      });
      const weighted = tf.mul(wScaled, tf.sub(root, this.mu)); // scale * w * ASL1
      return { weighted, grad: () => tf.mul(wScaled, tf.div(d, root)) };
    });
  };

  /** Statistics of the last call, or null before the first. `weights` (if recorded) is owned by the loss. */
  lastStats(): GHMStats | null {
    return this.harmonizer.lastStats();
  }

  /** The EMA state, JSON-serialisable (for checkpoints). */
  getState(): GradientDensityState {
    return this.harmonizer.getState();
  }

  setState(state: GradientDensityState): void {
    this.harmonizer.setState(state);
  }

  /** Releases the recorded weights tensor, if any. */
  dispose(): void {
    this.harmonizer.dispose();
  }
}

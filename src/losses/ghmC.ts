/**
 * GHM-C: sigmoid binary cross-entropy harmonized by gradient density (paper eq. 8-13; mmdetection `GHMC`).
 *
 *   g_k   = |sigmoid(x_k) - y_k|                     gradient norm of element k (no gradient through it)
 *   w_k   = tot / (S_bin(k) * n)   (see ./gradientDensity.ts; 0 for ignored elements)
 *   loss  = lossWeight * sum_k w_k * BCEWithLogits(x_k, y_k) / tot,     tot = max(#valid, 1)
 *   dloss/dx_k = lossWeight * w_k * (sigmoid(x_k) - y_k) / tot         (analytic, through tf.customGrad)
 *
 * Label weights only decide validity (`> 0`), their magnitude is not used (reference behaviour). The loss ignores
 * `avgFactor` (the reference normalises by `tot`).
 *
 * Implementation, for binary targets y in {0, 1}: with `z = x * (1 - 2y)` (x for negatives, -x for positives),
 * `g = sigmoid(z)`, `BCE = softplus(z)` and `sigmoid(x) - y = (1 - 2y) * g`; so the loss, the gradient and the
 * bin all come from one tensor z, with float arithmetic that is fast on wasm. The bin is decided at the nearest
 * edge s = round(g * bins) by one comparison of z against a threshold: for each float32 edge e, the smallest
 * float32 z whose reference g (torch float32: `fround(sigmoid(x))` for y = 0, `fround(1 - fround(sigmoid(x)))`
 * for y = 1) is >= e. This reproduces the reference's edge comparisons exactly, even on backends whose float32
 * sigmoid is a unit in the last place off (wasm), including g exactly on an edge, g = 0 and g = 1 (logits +-200).
 * Targets must be 0 or 1 (checked when `validate` is on).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  binEdges,
  nearestEdgeSlot,
  placeInBins,
  thresholdTables,
  type BinThresholds,
  type GradientDensityState,
} from './gradientDensity.js';
import { Harmonizer, harmonizedLoss, type GHMCallOptions, type GHMStats } from './harmonizer.js';
import { checkReduceOptions, stableSum } from './reduce.js';
import { softplusStable } from './bce.js';
import {
  binaryCheck,
  finiteCheck,
  nonNegativeCheck,
  expectShape,
  expectTensor,
  runChecks,
  type ValueCheck,
} from './checks.js';

const LOSS = 'GHMC';

/** Options of {@link GHMC}. */
export interface GHMCOptions {
  /** Number of unit regions M; default 30 (mmdetection's GHM config). */
  bins?: number;
  /** EMA momentum in [0, 1); 0 disables the state; default 0.75. */
  momentum?: number;
  /** Factor on the loss; default 1. */
  lossWeight?: number;
  /** Default of the per-call `validate` option; default true. */
  validate?: boolean;
  /** Keep the per-element weights of the last call in `lastStats().weights`; default false. */
  recordWeights?: boolean;
}

export type { GHMCallOptions, GHMStats } from './harmonizer.js';

/** The reference (torch float32) gradient norm of a logit z, per target; the thresholds are derived from it. */
function refNormNegative(z: number): number {
  return Math.fround(1 / (1 + Math.exp(-z)));
}
function refNormPositive(z: number): number {
  // x = -z; g = fround(1 - fround(sigmoid(x)))
  return Math.fround(1 - Math.fround(1 / (1 + Math.exp(z))));
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** float32 value of an ordered integer key (monotone: larger key, larger float). */
function floatOfKey(k: number): number {
  U32[0] = k >= 0 ? k : (0x80000000 | -k) >>> 0;
  return F32[0]!;
}
const KEY_INF = 0x7f800000;

/** Smallest float32 z with `norm(z) >= e` for a non-decreasing `norm`; +inf when none. */
function smallestLogitReaching(norm: (z: number) => number, e: number): number {
  if (e <= 0) return -Infinity;
  if (norm(Infinity) < e) return Infinity;
  let lo = -KEY_INF; // norm(-inf) = 0 < e
  let hi = KEY_INF; // norm(+inf) >= e
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (norm(floatOfKey(mid)) >= e) hi = mid;
    else lo = mid;
  }
  return floatOfKey(hi);
}

/**
 * Threshold tables on z for GHM-C: block 0 = valid negatives (y = 0), block 1 = valid positives (y = 1),
 * blocks 2 and 3 = ignored negatives and positives (block = y + 2 * ignored).
 */
export function logitThresholds(bins: number): BinThresholds {
  const edges = binEdges(bins, 1 + 1e-6);
  const perBlock = [refNormNegative, refNormPositive].map((norm) =>
    Array.from(edges, (e) => smallestLogitReaching(norm, e)),
  );
  return thresholdTables(bins, perBlock, 2);
}

/**
 * GHM-C loss with its EMA state. `call` may be used inside `tf.grads`, `tf.variableGrads` and
 * `optimizer.minimize` on every backend (the gradient is analytic).
 */
export class GHMC {
  readonly bins: number;
  readonly momentum: number;
  readonly lossWeight: number;
  readonly validate: boolean;
  recordWeights: boolean;
  private readonly harmonizer: Harmonizer;

  constructor(options: GHMCOptions = {}) {
    this.bins = options.bins ?? 30;
    this.momentum = options.momentum ?? 0.75;
    this.lossWeight = options.lossWeight ?? 1;
    this.validate = options.validate ?? true;
    this.recordWeights = options.recordWeights ?? false;
    const { bins, momentum, lossWeight } = this;
    // 2 valid blocks: negatives and positives (see logitThresholds)
    this.harmonizer = new Harmonizer(LOSS, { bins, momentum, lossWeight }, logitThresholds, 2);
  }

  /**
   * The loss of one call. A bound function (a property, not a method), so `const f = loss.call` and
   * `asLayersLoss(loss.call)` work.
   *
   * @param pred logits `[N, C]`, float32, any real value.
   * @param target either one-hot `[N, C]` float 0/1 (all zeros = background), or labels `[N]` int32 in [-1, C]:
   *   `0 <= l < C` is class l, `l == C` (background) and `-1` are all-zero rows (mmdetection
   *   `_expand_onehot_labels`).
   * @param labelWeight `[N, C]` per element or `[N]` per anchor (broadcast over the classes), >= 0; an element is
   *   valid when its weight is > 0. Default: all valid.
   * @param options `reduction` 'mean' (sum / tot, default), 'sum' or 'none' (per element `[N, C]`, weighted);
   *   `avgFactor` is accepted and ignored; `validate` (default: the constructor's) checks values with one fused
   *   reduction; `updateState` (default true) keeps the EMA update.
   * @returns the loss, a scalar (or `[N, C]` for 'none').
   */
  readonly call = (
    pred: tf.Tensor,
    target: tf.Tensor,
    labelWeight?: tf.Tensor,
    options: GHMCallOptions = {},
  ): tf.Tensor => {
    expectTensor(LOSS, 'pred', pred);
    expectTensor(LOSS, 'target', target);
    if (pred.rank !== 2) {
      throw new Error(`${LOSS}: \`pred\` has shape [${pred.shape.join(', ')}], expected [N, C] logits`);
    }
    if (pred.dtype !== 'float32')
      throw new Error(`${LOSS}: \`pred\` has dtype ${pred.dtype}, expected float32`);
    const [n, c] = pred.shape as [number, number];
    const labels = target.rank === 1;
    if (labels) {
      expectShape(LOSS, 'target', target, [n], 'integer labels [N] for `pred` [N, C]');
      if (target.dtype !== 'int32') {
        throw new Error(`${LOSS}: \`target\` labels [N] have dtype ${target.dtype}, expected int32`);
      }
    } else {
      expectShape(LOSS, 'target', target, [n, c], 'one-hot [N, C] like `pred`, or labels [N]');
    }
    if (labelWeight !== undefined) {
      expectTensor(LOSS, 'labelWeight', labelWeight);
      if (labelWeight.rank === 1)
        expectShape(LOSS, 'labelWeight', labelWeight, [n], 'per anchor [N], or [N, C]');
      else
        expectShape(LOSS, 'labelWeight', labelWeight, [n, c], 'per element like `pred`, or per anchor [N]');
    }
    const rowWeights = labelWeight !== undefined && labelWeight.rank === 1; // [N], broadcast over the C classes
    const reduction = checkReduceOptions(LOSS, { ...options, avgFactor: undefined });
    const validate = options.validate ?? this.validate;
    const M = this.bins;

    const thresholds = this.harmonizer.thresholds;
    return harmonizedLoss(pred, reduction, (x) => {
      // The value checks run (one read-back) before the bin lookup: a one-hot target outside {0, 1} would
      // otherwise index outside the threshold table and fail inside the gather kernel, naming no argument.
      if (validate)
        runChecks(LOSS, () => {
          const checks: ValueCheck[] = [];
          checks.push(finiteCheck('pred', x, 'finite logits (no NaN or Infinity)'));
          if (labels) {
            const l = target;
            checks.push({
              arg: 'target',
              expected: `labels in [-1, C=${c}] (C = background, -1 = no class)`,
              count: stableSum(tf.cast(tf.logicalOr(tf.less(l, -1), tf.greater(l, c)), 'float32')),
              details: [
                { label: 'min', value: tf.min(l) as tf.Scalar },
                { label: 'max', value: tf.max(l) as tf.Scalar },
              ],
            });
          } else {
            checks.push(binaryCheck('target', target));
          }
          if (labelWeight !== undefined) {
            checks.push(finiteCheck('labelWeight', labelWeight, 'finite values'));
            checks.push(nonNegativeCheck('labelWeight', labelWeight));
          }
          return checks;
        });
      const slots = thresholds.slots;
      // t: [N, C] float 0/1; valid: [N, C] or [N, 1], 1 where the label weight is > 0 (weights are >= 0).
      const t = labels ? tf.cast(tf.oneHot(target as tf.Tensor1D, c), 'float32') : tf.cast(target, 'float32');
      const lw =
        labelWeight === undefined ? undefined : rowWeights ? tf.reshape(labelWeight, [n, 1]) : labelWeight;
      const valid = lw === undefined ? undefined : tf.step(tf.cast(lw, 'float32'));
      const sign = tf.sub(1, tf.mul(t, 2)); // 1 - 2y: +1 negatives, -1 positives
      const z = tf.mul(x, sign);
      const g = tf.sigmoid(z); // |sigmoid(x) - y| (to a unit in the last place; bins are exact, see above)
      // block = y + 2 * (1 - valid), as an offset into the index space
      const blockOffset =
        valid === undefined ? tf.mul(t, slots) : tf.add(tf.mul(t, slots), tf.mul(valid, -2 * slots));
      const slot = nearestEdgeSlot(g, M, blockOffset, valid === undefined ? 0 : 2 * slots);
      const index = placeInBins(z, slot, thresholds);
      const numValid = valid === undefined ? tf.scalar(n * c) : tf.mul(stableSum(valid), rowWeights ? c : 1);
      // Per-element weights, pre-multiplied by the reduction's factor: d loss / d x = wScaled * (sigmoid(x) - y).
      const { wScaled } = this.harmonizer.weigh(index, numValid, [], {
        mean: reduction === 'mean',
        recordWeights: this.recordWeights,
        updateState: options.updateState ?? true,
      });
      const weighted = tf.mul(wScaled, softplusStable(z)); // scale * w * BCEWithLogits(x, y)
      return { weighted, grad: () => tf.mul(wScaled, tf.mul(g, sign)) };
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

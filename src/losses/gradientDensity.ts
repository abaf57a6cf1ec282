/**
 * Gradient density: the part of GHM-C and GHM-R that is shared by both (paper eq. 9-13, mmdetection `GHMC`/`GHMR`).
 *
 * Given a gradient norm `g` per valid element, the unit region ("bin") of each element is
 * `j` with `edges[j] <= g < edges[j+1]`, `edges[k] = k / bins` in float32, and a last edge that is
 * `1 + 1e-6` for GHM-C (so that `g == 1` lands in the last bin) and `1e3` for GHM-R (its `g` is < 1 in exact
 * arithmetic but rounds to 1 for huge residuals). Per call:
 *
 *   c_j   = number of valid elements in bin j                 (valid = label weight > 0)
 *   n     = number of bins with c_j > 0
 *   S_j   = momentum * S_j + (1 - momentum) * c_j             only for c_j > 0 (empty bins keep a stale S_j)
 *   w_j   = tot / S_j   (momentum > 0)   or   tot / c_j   (momentum 0)
 *   w_j  /= n
 *
 * The division by `n` (not by `bins` as in the paper's eq. 10) is the reference code's choice (libuyu/GHM_Detection
 * #4, #13): with every element in one bin, w = 1 whatever the number of bins. There is no bias correction of the
 * EMA: the first call divides by `(1 - momentum) * c_j`.
 *
 * Device side ({@link placeInBins}, {@link countBins}): one vectorised pass, no per-bin loop, float arithmetic
 * (fast on wasm) except one table gather. The bin is decided at the nearest edge: with `s = round(g' * bins)` from
 * any approximation `g'` of g that is within half a bin, the element is in bin `s - 1` or `s`, and one comparison
 * of the exact key against the float32 threshold of edge s decides (`bin = s - 1 + [key >= threshold_s]`). This
 * agrees bit for bit with the reference's `g >= edges[j] & g < edges[j+1]` on float32 values, including values
 * exactly on an edge.
 * Host side ({@link GradientDensity.weightTable}): the EMA and the weights of the `bins` entries, computed in JS
 * with `Math.fround` after every step to reproduce torch float32 arithmetic exactly (see
 * `test/fixtures/README.md`, "Expectations").
 */
import * as tf from '@tensorflow/tfjs-core';

/** Serialisable EMA state of one GHM loss (mmdetection's `acc_sum` buffer). */
export interface GradientDensityState {
  /** Number of unit regions M. */
  bins: number;
  /** EMA momentum in [0, 1). */
  momentum: number;
  /** `S_j` for j = 0..bins-1, float32 values (each satisfies `Math.fround(v) === v`); all zeros when fresh. */
  accSum: number[];
}

/** Statistics of one GHM call, for analysis (gradient-norm histograms, Fig. 1/2 of the paper). */
export interface GradientDensityStats {
  /** Valid elements per bin, length `bins`. */
  binCounts: number[];
  /** Number of non-empty bins in this call (the `n` that the weights are divided by; 0 when all are ignored). */
  nNonEmpty: number;
  /** The normaliser: number of valid elements (GHM-C) or sum of label weights (GHM-R), at least 1. */
  tot: number;
  /** Harmonizing weight of each bin after the division by n (0 for empty bins), length `bins`. */
  binWeights: number[];
  /** EMA state after the call (a copy), or null when momentum is 0. */
  accSum: number[] | null;
}

/**
 * Threshold tables for the nearest-edge placement. The index space is split into `blocks` blocks of
 * `slots = bins + 2` entries (a block per kind of element: valid negatives, valid positives, ignored...). Entry
 * `s + 1` of a block holds the smallest key value that reaches edge s (s = 0..bins), entry 0 is unused. After
 * placement, entry `j + 1` of a block stands for bin j. A block whose entries are +inf keeps every element at
 * `s` (used for ignored elements: they are never counted).
 */
export interface BinThresholds {
  bins: number;
  blocks: number;
  /** `bins + 2`. */
  slots: number;
  /** float32, length `blocks * slots`. */
  table: Float32Array;
}

/** The float32 bin edges of the reference: `fround(k / bins)` for k < bins, then `fround(lastEdge)`. */
export function binEdges(bins: number, lastEdge: number): Float32Array {
  const edges = new Float32Array(bins + 1);
  for (let k = 0; k < bins; k++) edges[k] = k / bins;
  edges[bins] = lastEdge;
  return edges;
}

/**
 * Builds threshold tables from one threshold per edge and valid block (`perBlock[b][s]` for s = 0..bins), then
 * `ignoredBlocks` blocks of +inf.
 */
export function thresholdTables(
  bins: number,
  perBlock: ArrayLike<number>[],
  ignoredBlocks: number,
): BinThresholds {
  const slots = bins + 2;
  const blocks = perBlock.length + ignoredBlocks;
  const table = new Float32Array(blocks * slots).fill(Infinity);
  perBlock.forEach((thr, b) => {
    for (let s = 0; s <= bins; s++) table[b * slots + s + 1] = thr[s]!;
  });
  return { bins, blocks, slots, table };
}

/**
 * Thresholds for keys that are the gradient norm g itself (GHM-R): edge s is reached when `g >= edges[s]`.
 * Block 0 = valid elements, block 1 = ignored elements.
 */
export function normThresholds(edges: Float32Array): BinThresholds {
  return thresholdTables(edges.length - 1, [edges], 1);
}

/**
 * The nearest-edge slot of each element, as a float tensor: `floor(approx * bins + blockOffset + 1.5)`, i.e.
 * `round(approx * bins) + 1` in the element's block, where `blockOffset = block * slots` is the sum of the
 * optional tensor `offset` (broadcastable to `approx`) and the number `constantOffset`. Call inside `tf.tidy`.
 */
export function nearestEdgeSlot(
  approx: tf.Tensor,
  bins: number,
  offset: tf.Tensor | undefined,
  constantOffset = 0,
): tf.Tensor {
  const scaled = tf.mul(approx, bins);
  const shifted = offset === undefined ? scaled : tf.add(scaled, offset);
  return tf.floor(tf.add(shifted, constantOffset + 1.5));
}

/**
 * Device part of the placement. `slot` (float, from {@link nearestEdgeSlot}) holds `block * slots + s + 1` with s
 * the nearest edge; `key` is the float32 quantity the thresholds refer to, same shape. Returns the index of the
 * element's bin, int32: `block * slots + bin + 1` (`slot - [key < threshold]`). Call inside `tf.tidy`.
 */
export function placeInBins(key: tf.Tensor, slot: tf.Tensor, thresholds: BinThresholds): tf.Tensor {
  const thr = tf.gather(tf.tensor1d(thresholds.table, 'float32'), tf.cast(slot, 'int32'));
  // step(thr - key) = 1 exactly when key < thr (the sign of a float32 difference is exact); all float ops.
  return tf.cast(tf.sub(slot, tf.step(tf.sub(thr, key))), 'int32');
}

/** Counts of every entry of the index space, float32 `[blocks * slots]`. Call inside `tf.tidy`. */
export function countBins(index: tf.Tensor, thresholds: BinThresholds): tf.Tensor1D {
  const size = thresholds.blocks * thresholds.slots;
  return tf.bincount(tf.reshape(index, [-1]) as tf.Tensor1D, tf.tensor1d([], 'float32'), size);
}

/** Sums the counts of the `validBlocks` first blocks into per-bin counts (length bins). Host side. */
export function binCountsOf(
  slotCounts: ArrayLike<number>,
  thresholds: BinThresholds,
  validBlocks: number,
): number[] {
  const { bins, slots } = thresholds;
  const out = new Array<number>(bins).fill(0);
  for (let b = 0; b < validBlocks; b++)
    for (let j = 0; j < bins; j++) out[j]! += slotCounts[b * slots + j + 1]!;
  return out;
}

/** The per-index weight table: `weights[j] * scale` at entry `j + 1` of each valid block, 0 elsewhere. */
export function weightLookup(
  weights: Float32Array,
  thresholds: BinThresholds,
  validBlocks: number,
  scale = 1,
): Float32Array {
  const { bins, slots, blocks } = thresholds;
  const table = new Float32Array(blocks * slots);
  for (let b = 0; b < validBlocks; b++)
    for (let j = 0; j < bins; j++) table[b * slots + j + 1] = weights[j]! * scale;
  return table;
}

/** Validates the shared hyper-parameters; errors name the argument, the expectation and the value got. */
export function checkDensityOptions(loss: string, bins: number, momentum: number): void {
  if (typeof bins !== 'number' || !Number.isInteger(bins) || bins < 1) {
    throw new Error(`${loss}: \`bins\` must be an integer >= 1, got ${String(bins)}`);
  }
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) {
    throw new Error(
      `${loss}: \`momentum\` must be in [0, 1), got ${String(momentum)}` +
        (momentum === 1 ? ' (momentum 1 would keep the EMA at 0 and divide by zero)' : ''),
    );
  }
}

/** The EMA state and the per-bin weights (host side). */
export class GradientDensity {
  readonly bins: number;
  readonly momentum: number;
  private accSum: Float32Array;

  constructor(loss: string, bins: number, momentum: number) {
    checkDensityOptions(loss, bins, momentum);
    this.bins = bins;
    this.momentum = momentum;
    this.accSum = new Float32Array(bins);
  }

  /** A JSON-serialisable copy of the state. */
  getState(): GradientDensityState {
    return { bins: this.bins, momentum: this.momentum, accSum: Array.from(this.accSum) };
  }

  /** Restores a state saved by {@link getState}; `bins` and `momentum` must match this loss. */
  setState(state: GradientDensityState): void {
    if (state === null || typeof state !== 'object' || !Array.isArray(state.accSum)) {
      throw new Error(`GradientDensity.setState: \`state\` must be {bins, momentum, accSum: number[]}`);
    }
    if (state.bins !== this.bins || state.accSum.length !== this.bins) {
      throw new Error(
        `GradientDensity.setState: \`state.bins\` is ${state.bins} with ${state.accSum.length} accSum entries, ` +
          `expected ${this.bins}; was the state saved from a loss with other bins?`,
      );
    }
    if (state.momentum !== this.momentum) {
      throw new Error(
        `GradientDensity.setState: \`state.momentum\` is ${state.momentum}, expected ${this.momentum}`,
      );
    }
    for (const v of state.accSum) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new Error(
          `GradientDensity.setState: \`state.accSum\` holds ${String(v)}; expected finite >= 0`,
        );
      }
    }
    this.accSum = Float32Array.from(state.accSum);
  }

  /**
   * Updates the EMA with this call's counts and returns the weight of each bin (after the division by n), as
   * torch float32 computes them:
   * momentum m > 0: `S = fround(fround(fround(m) * S) + fround((1 - m) * c))`, `w = fround(fround(1 / S) * tot)`
   * (torch evaluates `tot / S` as `S.reciprocal() * tot`); momentum 0: `w = fround(tot / c)`; then
   * `w = fround(w / n)`. Empty bins get weight 0 and keep their S.
   * @param counts valid elements per bin, length bins.
   * @param tot the normaliser (>= 1), a float32 value.
   * @param update keep the updated EMA (default true); false computes the same weights and leaves the state
   *   as it was (evaluation: the loss a training call would give, without moving the training statistics).
   */
  weightTable(
    counts: ArrayLike<number>,
    tot: number,
    update = true,
  ): { weights: Float32Array; nNonEmpty: number } {
    const m = this.momentum;
    const m32 = Math.fround(m);
    const tot32 = Math.fround(tot);
    const weights = new Float32Array(this.bins);
    let n = 0;
    for (let j = 0; j < this.bins; j++) {
      const c = counts[j]!;
      if (c <= 0) continue;
      n++;
      if (m > 0) {
        const s = Math.fround(Math.fround(m32 * this.accSum[j]!) + Math.fround((1 - m) * c));
        if (update) this.accSum[j] = s;
        weights[j] = Math.fround(Math.fround(1 / s) * tot32);
      } else {
        weights[j] = tot / c;
      }
    }
    if (n > 0) for (let j = 0; j < this.bins; j++) weights[j] = weights[j]! / n;
    return { weights, nNonEmpty: n };
  }

  /** Current EMA state values (a copy), or null when momentum is 0. */
  accSumCopy(): number[] | null {
    return this.momentum > 0 ? Array.from(this.accSum) : null;
  }
}

/**
 * Whether the engine is recording a gradient tape right now (inside `tf.grads`, `tf.variableGrads`,
 * `optimizer.minimize`). Lets the GHM losses skip building the gradient tensor in inference-only calls.
 * Reads an engine field of tfjs 4.22 (the version is pinned); when absent it answers true (always build).
 */
export function isRecordingGradients(): boolean {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  return state?.gradientDepth === undefined ? true : state.gradientDepth > 0;
}

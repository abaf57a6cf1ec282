/**
 * Precision / recall of one category: pycocotools' `COCOeval.accumulate()` for one k, all area ranges, maxDets
 * and IoU thresholds, from the per-detection outcomes of cocoMatch.ts.
 *
 * Reproduced on purpose (v2.0.11):
 * - The detections of a maxDets value are the top-maxDets of each image (by the stable in-image order),
 *   concatenated in ascending image id order and stably sorted by descending score. One sort per category
 *   serves every area range and maxDets: filtering the sorted list by in-image rank < maxDets keeps the order
 *   that sorting the filtered list would give.
 * - Ignored detections stay in the list (they add neither a TP nor an FP); `recall = tp / npig`,
 *   `precision = tp / (fp + tp + np.spacing(1))`, npig = number of non-ignored GTs.
 * - A (category, area) with no non-ignored GT is left at -1 (undefined); recall is `rc[-1]`, or 0 without
 *   detections.
 * - Interpolated precision: running maximum from the right, then for each recall threshold r the precision at
 *   `np.searchsorted(rc, r, side='left')` (first index with rc >= r); thresholds past the last index get 0.
 */
import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, NP_SPACING_1, RECALL_THRESHOLDS } from './cocoParams.js';
import { DET_FALSE_POSITIVE, DET_TRUE_POSITIVE } from './cocoMatch.js';
import { stableSortByScoreDescending } from './scoreOrder.js';

const T = IOU_THRESHOLDS.length;
const R = RECALL_THRESHOLDS.length;
const A = AREA_RANGES.length;
const M = MAX_DETS.length;

/** COCOeval's `precision` [T, R, K, A, M] and `recall` [T, K, A, M], row-major; -1 where undefined. */
export interface CocoPrecisionRecall {
  /** [T, R, K, A, M], values in [0, 1] or -1. */
  precision: Float64Array;
  /** [T, K, A, M], values in [0, 1] or -1. */
  recall: Float64Array;
  /** Number of categories K. */
  numCategories: number;
}

export function createPrecisionRecall(numCategories: number): CocoPrecisionRecall {
  return {
    precision: new Float64Array(T * R * numCategories * A * M).fill(-1),
    recall: new Float64Array(T * numCategories * A * M).fill(-1),
    numCategories,
  };
}

/** The detections of one category, in concatenation order (ascending image id, then in-image score order). */
export interface CategoryDetections {
  /** Number of detections N. */
  count: number;
  /** [N] scores. */
  score: Float64Array;
  /** [N] rank of the detection in its image (0 = highest score). */
  rank: Int32Array;
  /** [A, N, T] outcome codes of cocoMatch.ts. */
  outcome: Uint8Array;
  /** [A] number of non-ignored GTs of the category per area range. */
  numPositives: Float64Array;
}

/** Reusable scratch for `accumulateCategory`. */
export class AccumulateScratch {
  order = new Int32Array(0);
  kept = new Int32Array(0);
  /** [T, N] precision at each true positive, in score order. */
  tpPrecision = new Float64Array(0);

  reserve(n: number): void {
    if (this.order.length >= n) return;
    this.order = new Int32Array(n * 2);
    this.kept = new Int32Array(n * 2);
    this.tpPrecision = new Float64Array(T * n * 2);
  }
}

/**
 * Writes category k's slices of `out.precision` and `out.recall`.
 *
 * Equivalent shortcut: pycocotools builds `rc` and `pr` at every detection, takes the right-to-left maximum
 * of `pr` and reads it at the first index whose recall reaches each threshold. That index is always a true
 * positive (recall only grows there), and between true positives precision only falls or stays, so the
 * maximum over indices >= i is the maximum over the true positives from i on. Keeping `pr` at the true
 * positives only (the same doubles, `tp / (fp + tp + eps)` with the same counts) gives identical values.
 */
export function accumulateCategory(
  k: number,
  dets: CategoryDetections,
  out: CocoPrecisionRecall,
  scratch: AccumulateScratch,
): void {
  const { count: N, score, rank, outcome, numPositives } = dets;
  const K = out.numCategories;
  scratch.reserve(N);
  // One stable sort by descending score; ties keep concatenation order.
  const order = scratch.order;
  for (let j = 0; j < N; j++) order[j] = j;
  stableSortByScoreDescending(order, N, score, scratch.kept);
  const { kept, tpPrecision } = scratch;
  const stride = scratch.tpPrecision.length / T;
  const tp = new Float64Array(T);
  const fp = new Float64Array(T);
  for (let m = 0; m < M; m++) {
    const maxDet = MAX_DETS[m];
    let nd = 0;
    for (let j = 0; j < N; j++) if (rank[order[j]] < maxDet) kept[nd++] = order[j];
    for (let a = 0; a < A; a++) {
      const npig = numPositives[a];
      if (npig === 0) continue;
      tp.fill(0);
      fp.fill(0);
      const base = a * N * T;
      for (let i = 0; i < nd; i++) {
        const o = base + kept[i] * T;
        for (let t = 0; t < T; t++) {
          const code = outcome[o + t];
          if (code === DET_TRUE_POSITIVE) {
            const n = ++tp[t];
            tpPrecision[t * stride + n - 1] = n / (fp[t] + n + NP_SPACING_1);
          } else if (code === DET_FALSE_POSITIVE) fp[t]++;
        }
      }
      for (let t = 0; t < T; t++) {
        const numTp = tp[t];
        const pr = t * stride;
        out.recall[((t * K + k) * A + a) * M + m] = nd > 0 ? numTp / npig : 0;
        for (let i = numTp - 1; i > 0; i--) {
          if (tpPrecision[pr + i] > tpPrecision[pr + i - 1]) tpPrecision[pr + i - 1] = tpPrecision[pr + i];
        }
        // searchsorted(rc, thr, 'left') lands on the j-th true positive, j the least count with j / npig >= thr.
        let j = 1;
        for (let r = 0; r < R; r++) {
          const thr = RECALL_THRESHOLDS[r];
          while (j <= numTp && j / npig < thr) j++;
          out.precision[(((t * R + r) * K + k) * A + a) * M + m] = j <= numTp ? tpPrecision[pr + j - 1] : 0;
        }
      }
    }
  }
}

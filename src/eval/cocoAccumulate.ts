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
  /** [A, T, N] outcome codes of cocoMatch.ts. */
  outcome: Uint8Array;
  /** [A] number of non-ignored GTs of the category per area range. */
  numPositives: Float64Array;
}

/** Reusable scratch for `accumulateCategory`. */
export class AccumulateScratch {
  order = new Int32Array(0);
  kept = new Int32Array(0);
  rc = new Float64Array(0);
  pr = new Float64Array(0);

  reserve(n: number): void {
    if (this.order.length >= n) return;
    this.order = new Int32Array(n * 2);
    this.kept = new Int32Array(n * 2);
    this.rc = new Float64Array(n * 2);
    this.pr = new Float64Array(n * 2);
  }
}

/** Writes category k's slices of `out.precision` and `out.recall`. */
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
  const order = scratch.order.subarray(0, N);
  for (let j = 0; j < N; j++) order[j] = j;
  order.sort((x, y) => score[y] - score[x] || x - y);
  const { kept, rc, pr } = scratch;
  for (let m = 0; m < M; m++) {
    const maxDet = MAX_DETS[m];
    let nd = 0;
    for (let j = 0; j < N; j++) if (rank[order[j]] < maxDet) kept[nd++] = order[j];
    for (let a = 0; a < A; a++) {
      const npig = numPositives[a];
      if (npig === 0) continue;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * N;
        let tp = 0;
        let fp = 0;
        for (let i = 0; i < nd; i++) {
          const o = outcome[base + kept[i]];
          if (o === DET_TRUE_POSITIVE) tp++;
          else if (o === DET_FALSE_POSITIVE) fp++;
          rc[i] = tp / npig;
          pr[i] = tp / (fp + tp + NP_SPACING_1);
        }
        out.recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
        for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        let p = 0;
        for (let r = 0; r < R; r++) {
          const thr = RECALL_THRESHOLDS[r];
          while (p < nd && rc[p] < thr) p++;
          out.precision[(((t * R + r) * K + k) * A + a) * M + m] = p < nd ? pr[p] : 0;
        }
      }
    }
  }
}

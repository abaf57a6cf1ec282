/**
 * COCO bbox evaluation with the numbers of pycocotools' `COCOeval(cocoGt, cocoDt, 'bbox')` (v2.0.11):
 * `evaluate()`, `accumulate()` and `summarize()` with the default parameters, every quirk reproduced (see
 * cocoIndex.ts, cocoIou.ts, cocoMatch.ts, cocoAccumulate.ts, cocoSummary.ts).
 *
 * Fast path: typed arrays grouped by (category, image) with the in-image sort done once, IoU computed once per
 * (image, category) and only there, matching shared between area ranges whose GT ignore flags agree, and one
 * global sort per category for all area ranges and maxDets. One category is processed at a time, so memory
 * stays O(detections of one category) beyond the index.
 */
import {
  AccumulateScratch,
  accumulateCategory,
  createPrecisionRecall,
  type CategoryDetections,
} from './cocoAccumulate.js';
import { buildCocoIndex } from './cocoIndex.js';
import { ImageCategoryMatcher } from './cocoMatch.js';
import { AREA_LABELS, AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, RECALL_THRESHOLDS } from './cocoParams.js';
import { STATS_NAMES, summarizeCategory, summarizeStats, type CocoCategoryResult } from './cocoSummary.js';
import type { CocoDetection, CocoGroundTruth } from './cocoTypes.js';
import { checkDetectionImages, validateCocoDetections, validateCocoGroundTruth } from './cocoValidate.js';

export interface CocoEvalOptions {
  /** Return COCOeval's `precision` / `recall` arrays (and their axes) in the result. Default false. */
  returnArrays?: boolean;
  /**
   * Ignore detections whose `image_id` is not in the ground truth. Default false: they are an error, as in
   * pycocotools' `loadRes` ("Results do not correspond to current coco set").
   */
  allowExtraImages?: boolean;
}

/** The axes of the `precision` [T, R, K, A, M] and `recall` [T, K, A, M] arrays. */
export interface CocoEvalAxes {
  /** Axis T: IoU thresholds 0.50:0.05:0.95 (as `np.linspace` gives them). */
  iouThresholds: Float64Array;
  /** Axis R: recall thresholds 0:0.01:1. */
  recallThresholds: Float64Array;
  /** Axis K: category ids, ascending. */
  categoryIds: number[];
  /** Axis A: 'all', 'small', 'medium', 'large'. */
  areaLabels: readonly string[];
  /** Axis M: 1, 10, 100. */
  maxDets: readonly number[];
}

export interface CocoEvalResult {
  /** `COCOeval.stats`: AP@[.5:.95], AP@.5, AP@.75, AP S/M/L, AR@1, AR@10, AR@100, AR S/M/L; -1 = undefined. */
  stats: number[];
  /** Names of `stats`, same order. */
  statsNames: readonly string[];
  /** Per ground-truth category id; a category without GT has -1 everywhere. */
  perCategory: Record<number, CocoCategoryResult>;
  /** COCOeval's `eval['precision']`, [T, R, K, A, M] row-major, -1 = undefined; when `returnArrays` is set. */
  precision?: Float64Array;
  /** COCOeval's `eval['recall']`, [T, K, A, M] row-major, -1 = undefined; when `returnArrays` is set. */
  recall?: Float64Array;
  /** The axes of `precision` and `recall`; when `returnArrays` is set. */
  axes?: CocoEvalAxes;
}

/**
 * Evaluates `dets` (a COCO result list, boxes xywh) against `gt` (a COCO ground-truth dictionary, boxes xywh).
 * Images and categories are those of `gt`: detections of other categories are ignored (as in pycocotools), those
 * of other images are an error unless `allowExtraImages`. No detections at all gives AP 0 for every category with
 * GT. Throws on malformed input (duplicate annotation ids included), naming record and field.
 */
export function evaluateCoco(
  gt: CocoGroundTruth,
  dets: CocoDetection[],
  options: CocoEvalOptions = {},
): CocoEvalResult {
  validateCocoGroundTruth(gt);
  validateCocoDetections(dets);
  if (!options.allowExtraImages) checkDetectionImages(gt, dets);
  const index = buildCocoIndex(gt, dets);
  const I = index.imgIds.length;
  const K = index.catIds.length;
  const T = IOU_THRESHOLDS.length;
  const A = AREA_RANGES.length;
  const pr = createPrecisionRecall(K);
  const matcher = new ImageCategoryMatcher(index);
  const scratch = new AccumulateScratch();
  // Per category, reused: `outcome` [A, N, T] codes of its N detections (cocoMatch.ts), `rank` [N] in-image rank.
  let outcome = new Uint8Array(0);
  let rank = new Int32Array(0);
  for (let k = 0; k < K; k++) {
    const first = index.dtStart[k * I];
    const N = index.dtStart[(k + 1) * I] - first;
    if (outcome.length < A * T * N) outcome = new Uint8Array(A * T * N * 2);
    if (rank.length < N) rank = new Int32Array(N * 2);
    const numPositives = new Float64Array(A);
    for (let i = 0; i < I; i++) {
      const key = k * I + i;
      const offset = index.dtStart[key] - first;
      for (let j = offset, r = 0; j < index.dtStart[key + 1] - first; j++, r++) rank[j] = r;
      matcher.match(key, outcome, offset, N, numPositives);
    }
    const category: CategoryDetections = {
      count: N,
      score: index.dtScore.subarray(first, first + N),
      rank,
      outcome,
      numPositives,
    };
    accumulateCategory(k, category, pr, scratch);
  }
  const perCategory: Record<number, CocoCategoryResult> = {};
  for (let k = 0; k < K; k++) perCategory[index.catIds[k]] = summarizeCategory(pr, k);
  const result: CocoEvalResult = { stats: summarizeStats(pr), statsNames: STATS_NAMES, perCategory };
  if (options.returnArrays) {
    result.precision = pr.precision;
    result.recall = pr.recall;
    result.axes = {
      iouThresholds: IOU_THRESHOLDS.slice(),
      recallThresholds: RECALL_THRESHOLDS.slice(),
      categoryIds: index.catIds.slice(),
      areaLabels: AREA_LABELS,
      maxDets: MAX_DETS,
    };
  }
  return result;
}

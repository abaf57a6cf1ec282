/**
 * Groups COCO ground truth and detections by (category, image) into flat typed arrays, the layout the fast
 * evaluator works on. This is pycocotools' `COCOeval._prepare()` plus the per-(image, category) detection sort
 * of `computeIoU()` / `evaluateImg()`, done once.
 *
 * Group key: `k * I + i` for category index k (categories sorted by id) and image index i (images sorted by id).
 * `start[key] .. start[key + 1]` is the group's range; groups of one category are contiguous and in ascending
 * image id order, which is exactly the concatenation order of pycocotools' `accumulate()`.
 */
import { MAX_DETS } from './cocoParams.js';
import { stableSortByScoreDescending } from './scoreOrder.js';
import type { CocoDetection, CocoGroundTruth } from './cocoTypes.js';

export interface CocoIndex {
  /** Image ids, sorted ascending, unique (pycocotools: `sorted(cocoGt.getImgIds())`). I = length. */
  imgIds: number[];
  /** Category ids, sorted ascending, unique (`sorted(cocoGt.getCatIds())`). K = length. */
  catIds: number[];
  /** [K * I + 1] group offsets into the gt arrays. Within a group: annotation file order. */
  gtStart: Int32Array;
  /** [numGt * 4] xywh boxes, grouped. */
  gtBox: Float64Array;
  /** [numGt] the annotations' `area` field (square pixels), grouped. */
  gtArea: Float64Array;
  /** [numGt] 1 for crowd, else 0. */
  gtCrowd: Uint8Array;
  /** [numGt] annotation ids. */
  gtId: Float64Array;
  /** [K * I + 1] group offsets into the det arrays. */
  dtStart: Int32Array;
  /**
   * [numKept * 4] xywh boxes; within a group sorted by descending score, ties in result-list order (numpy's
   * stable mergesort on `-score`), cut to the top `MAX_DETS[last]` = 100 of that image and category.
   */
  dtBox: Float64Array;
  /** [numKept] scores, same order. */
  dtScore: Float64Array;
  /** [numKept] width * height (pycocotools' `loadRes` sets a result's area to w*h). */
  dtArea: Float64Array;
}

function sortedUniqueIds(records: { id: number }[]): number[] {
  return [...new Set(records.map((r) => r.id))].sort((a, b) => a - b);
}

function indexOf(ids: number[]): Map<number, number> {
  return new Map(ids.map((id, i) => [id, i]));
}

/** Counting sort of record indices by group key (stable: input order kept within a group). */
function groupByKey(keys: Int32Array, numKeys: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(numKeys + 1);
  let n = 0;
  for (let r = 0; r < keys.length; r++) {
    if (keys[r] < 0) continue;
    start[keys[r] + 1]++;
    n++;
  }
  for (let g = 0; g < numKeys; g++) start[g + 1] += start[g];
  const fill = start.slice(0, numKeys);
  const order = new Int32Array(n);
  for (let r = 0; r < keys.length; r++) if (keys[r] >= 0) order[fill[keys[r]]++] = r;
  return { start, order };
}

/**
 * Sorts `order[lo..hi)` (record indices, ascending) by descending `scores[record]`, ties by record index: a
 * stable sort. Insertion sort for the usual small groups, a merge sort for large ones.
 */
function sortByScoreDescending(order: Int32Array, lo: number, hi: number, scores: Float64Array): void {
  if (hi - lo > 32) {
    stableSortByScoreDescending(order.subarray(lo, hi), hi - lo, scores, new Int32Array(hi - lo));
    return;
  }
  for (let i = lo + 1; i < hi; i++) {
    const r = order[i];
    const s = scores[r];
    let j = i - 1;
    // Strictly smaller scores move right; equal scores stay in front (stability, since indices ascend).
    while (j >= lo && scores[order[j]] < s) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = r;
  }
}

/**
 * Builds the index. Annotations and detections whose image or category is not in the ground truth are left
 * out (pycocotools filters both by `imgIds` / `catIds`), so such detections count nowhere. Inputs must be valid.
 */
export function buildCocoIndex(gt: CocoGroundTruth, dets: CocoDetection[]): CocoIndex {
  const imgIds = sortedUniqueIds(gt.images);
  const catIds = sortedUniqueIds(gt.categories);
  const imgIndex = indexOf(imgIds);
  const catIndex = indexOf(catIds);
  const I = imgIds.length;
  const numKeys = catIds.length * I;
  const keyOf = (imageId: number, categoryId: number): number => {
    const i = imgIndex.get(imageId);
    const k = catIndex.get(categoryId);
    return i === undefined || k === undefined ? -1 : k * I + i;
  };

  const anns = gt.annotations;
  const gtKeys = new Int32Array(anns.length);
  for (let r = 0; r < anns.length; r++) gtKeys[r] = keyOf(anns[r].image_id, anns[r].category_id);
  const gtGroups = groupByKey(gtKeys, numKeys);
  const numGt = gtGroups.order.length;
  const gtBox = new Float64Array(numGt * 4);
  const gtArea = new Float64Array(numGt);
  const gtCrowd = new Uint8Array(numGt);
  const gtId = new Float64Array(numGt);
  for (let j = 0; j < numGt; j++) {
    const a = anns[gtGroups.order[j]];
    for (let c = 0; c < 4; c++) gtBox[j * 4 + c] = a.bbox[c];
    gtArea[j] = a.area;
    gtCrowd[j] = a.iscrowd ? 1 : 0;
    gtId[j] = a.id;
  }

  const dtKeys = new Int32Array(dets.length);
  for (let r = 0; r < dets.length; r++) dtKeys[r] = keyOf(dets[r].image_id, dets[r].category_id);
  const dtGroups = groupByKey(dtKeys, numKeys);
  const maxDet = MAX_DETS[MAX_DETS.length - 1];
  // Sort each group by descending score; ties keep result-list order (the order array is ascending within a
  // group, so the index tiebreak reproduces a stable sort). Then keep the first maxDet of each group.
  // Read the detections once, in list order, into typed arrays.
  const scores = new Float64Array(dets.length);
  const boxes = new Float64Array(dets.length * 4);
  for (let r = 0; r < dets.length; r++) {
    const d = dets[r];
    scores[r] = d.score;
    for (let c = 0; c < 4; c++) boxes[r * 4 + c] = d.bbox[c];
  }
  const dtStart = new Int32Array(numKeys + 1);
  for (let g = 0; g < numKeys; g++) {
    const lo = dtGroups.start[g];
    const hi = dtGroups.start[g + 1];
    sortByScoreDescending(dtGroups.order, lo, hi, scores);
    dtStart[g + 1] = dtStart[g] + Math.min(hi - lo, maxDet);
  }
  const numKept = dtStart[numKeys];
  const dtBox = new Float64Array(numKept * 4);
  const dtScore = new Float64Array(numKept);
  const dtArea = new Float64Array(numKept);
  for (let g = 0; g < numKeys; g++) {
    const src = dtGroups.start[g];
    for (let j = dtStart[g], n = 0; j < dtStart[g + 1]; j++, n++) {
      const r = dtGroups.order[src + n];
      for (let c = 0; c < 4; c++) dtBox[j * 4 + c] = boxes[r * 4 + c];
      dtScore[j] = scores[r];
      dtArea[j] = boxes[r * 4 + 2] * boxes[r * 4 + 3];
    }
  }
  return {
    imgIds,
    catIds,
    gtStart: gtGroups.start,
    gtBox,
    gtArea,
    gtCrowd,
    gtId,
    dtStart,
    dtBox,
    dtScore,
    dtArea,
  };
}

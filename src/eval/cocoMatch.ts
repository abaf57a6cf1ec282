/**
 * Greedy matching of one (image, category): pycocotools' `COCOeval.evaluateImg()` for every area range and IoU
 * threshold, producing one outcome per detection (true positive, false positive, ignored).
 *
 * The pycocotools behaviour kept on purpose (v2.0.11):
 * - A GT is ignored in an area range when it is a crowd or its `area` field is outside the range (inclusive
 *   bounds). GTs are visited non-ignored first, each part in annotation order (`np.argsort(ignore, 'mergesort')`).
 * - Detections are visited by descending score (stable; see cocoIndex.ts). A detection takes, among GTs not yet
 *   matched (a crowd GT stays available: it can absorb any number of detections), the one with the highest IoU
 *   >= `min(t, 1 - 1e-10)`; on equal IoU the later GT in visiting order wins (the test is `iou < best: skip`).
 *   Once it holds a non-ignored GT it stops at the first ignored one, so a regular match beats an ignored one.
 * - A detection matched to an ignored GT (crowd or out of range) is ignored. An unmatched detection is ignored
 *   when its own area (w*h) is outside the range, otherwise it is a false positive.
 * - Matches are recorded as the GT's annotation id and tested for "!= 0", so a detection matched to a GT whose
 *   id is 0 counts as unmatched (a false positive, or ignored by its area) although that GT is consumed.
 * - Matching depends only on higher-scored detections, so the outcome of the top-k detections is the same for
 *   every maxDets k: one pass at k = 100 serves maxDets 1, 10 and 100.
 */
import { boxIouXywh } from './cocoIou.js';
import type { CocoIndex } from './cocoIndex.js';
import { AREA_RANGES, IOU_THRESHOLDS, matchThreshold } from './cocoParams.js';

/** Outcome of one detection at one (area range, IoU threshold). */
export const DET_FALSE_POSITIVE = 0;
export const DET_TRUE_POSITIVE = 1;
export const DET_IGNORED = 2;

/** Internal match kinds before the detection-area rule is applied. */
const UNMATCHED = 0;
const MATCHED_REGULAR = 1;
const MATCHED_IGNORED = 2;
/** Matched a GT with annotation id 0: pycocotools reads it as unmatched (see the file comment). */
const MATCHED_ID_ZERO = 3;

const T = IOU_THRESHOLDS.length;
const A = AREA_RANGES.length;
const THRESHOLDS = IOU_THRESHOLDS.map(matchThreshold);

/** Matches (image, category) groups of a `CocoIndex`, reusing its scratch buffers across calls. */
export class ImageCategoryMatcher {
  private iou = new Float64Array(0);
  private iouSorted = new Float64Array(0);
  /** [A, G] ignore flag of each GT per area range, annotation order. */
  private gtIgnore = new Uint8Array(0);
  private order = new Int32Array(0);
  private ignoreSorted = new Uint8Array(0);
  private crowdSorted = new Uint8Array(0);
  private idSorted = new Float64Array(0);
  private gtMatched = new Uint8Array(0);
  /** [A, T, D] match kinds; an area range with the same GT ignore flags as an earlier one reuses its kinds. */
  private kinds = new Uint8Array(0);

  constructor(private readonly index: CocoIndex) {}

  /**
   * Matches group `key` (= k * I + i) and writes the outcome of its detections into
   * `outcome[(a * stride + offset + d) * T + t]` (d = the detection's rank in the group), adding the group's
   * number of non-ignored GTs per area range to `numPositives[a]`.
   */
  match(key: number, outcome: Uint8Array, offset: number, stride: number, numPositives: Float64Array): void {
    const ix = this.index;
    const g0 = ix.gtStart[key];
    const G = ix.gtStart[key + 1] - g0;
    const d0 = ix.dtStart[key];
    const D = ix.dtStart[key + 1] - d0;
    if (G === 0 && D === 0) return;
    this.reserve(G, D);
    const ignore = this.gtIgnore;
    for (let a = 0; a < A; a++) {
      const [lo, hi] = AREA_RANGES[a];
      let positives = 0;
      for (let g = 0; g < G; g++) {
        const area = ix.gtArea[g0 + g];
        const ig = ix.gtCrowd[g0 + g] === 1 || area < lo || area > hi ? 1 : 0;
        ignore[a * G + g] = ig;
        positives += 1 - ig;
      }
      numPositives[a] += positives;
    }
    if (D === 0) return;
    if (G > 0) boxIouXywh(ix.dtBox, d0, D, ix.gtBox, ix.gtCrowd, g0, G, this.iou);

    for (let a = 0; a < A; a++) {
      const kinds = this.kinds;
      const k0 = this.kindsFor(a, G, D, g0);
      const [lo, hi] = AREA_RANGES[a];
      for (let d = 0; d < D; d++) {
        const area = ix.dtArea[d0 + d];
        const outside = area < lo || area > hi;
        const unmatchedOutcome = outside ? DET_IGNORED : DET_FALSE_POSITIVE;
        for (let t = 0; t < T; t++) {
          const kind = kinds[k0 + t * D + d];
          outcome[(a * stride + offset + d) * T + t] =
            kind === MATCHED_REGULAR
              ? DET_TRUE_POSITIVE
              : kind === MATCHED_IGNORED
                ? DET_IGNORED
                : unmatchedOutcome;
        }
      }
    }
  }

  /**
   * Offset in `this.kinds` of the [T, D] match kinds of area range a, computed or reused from an earlier range
   * with equal GT ignore flags.
   */
  private kindsFor(a: number, G: number, D: number, g0: number): number {
    const ignore = this.gtIgnore;
    for (let b = 0; b < a; b++) {
      let same = true;
      for (let g = 0; g < G && same; g++) same = ignore[a * G + g] === ignore[b * G + g];
      if (same) return b * T * D;
    }
    const k0 = a * T * D;
    const kinds = this.kinds;
    if (G === 0) {
      kinds.fill(UNMATCHED, k0, k0 + T * D);
      return k0;
    }
    // Visiting order: non-ignored GTs first, then ignored ones, each in annotation order.
    let s = 0;
    for (const wanted of [0, 1]) {
      for (let g = 0; g < G; g++) if (ignore[a * G + g] === wanted) this.order[s++] = g;
    }
    const ix = this.index;
    for (s = 0; s < G; s++) {
      const g = this.order[s];
      this.ignoreSorted[s] = ignore[a * G + g];
      this.crowdSorted[s] = ix.gtCrowd[g0 + g];
      this.idSorted[s] = ix.gtId[g0 + g];
      for (let d = 0; d < D; d++) this.iouSorted[d * G + s] = this.iou[d * G + g];
    }
    const iou = this.iouSorted;
    const ig = this.ignoreSorted;
    const crowd = this.crowdSorted;
    const matched = this.gtMatched;
    for (let t = 0; t < T; t++) {
      matched.fill(0, 0, G);
      for (let d = 0; d < D; d++) {
        let best = THRESHOLDS[t];
        let m = -1;
        for (let g = 0; g < G; g++) {
          if (matched[g] === 1 && crowd[g] === 0) continue;
          if (m > -1 && ig[m] === 0 && ig[g] === 1) break;
          const v = iou[d * G + g];
          if (v < best) continue;
          best = v;
          m = g;
        }
        let kind = UNMATCHED;
        if (m > -1) {
          matched[m] = 1;
          kind = ig[m] === 1 ? MATCHED_IGNORED : this.idSorted[m] !== 0 ? MATCHED_REGULAR : MATCHED_ID_ZERO;
        }
        kinds[k0 + t * D + d] = kind;
      }
    }
    return k0;
  }

  private reserve(G: number, D: number): void {
    if (this.iou.length < G * D) {
      this.iou = new Float64Array(G * D * 2);
      this.iouSorted = new Float64Array(G * D * 2);
    }
    if (this.order.length < G) {
      const n = G * 2;
      this.gtIgnore = new Uint8Array(A * n);
      this.order = new Int32Array(n);
      this.ignoreSorted = new Uint8Array(n);
      this.crowdSorted = new Uint8Array(n);
      this.idSorted = new Float64Array(n);
      this.gtMatched = new Uint8Array(n);
    }
    if (this.kinds.length < A * T * D) this.kinds = new Uint8Array(A * T * D * 2);
  }
}

/**
 * The numbers pycocotools' `COCOeval.summarize()` reports, read off the precision / recall arrays, and its
 * printed table. A summary value is the mean of the selected entries that are > -1 (undefined entries, e.g.
 * categories without GT, are left out of the mean), or -1 when none is defined.
 */
import type { CocoPrecisionRecall } from './cocoAccumulate.js';
import {
  AREA_LABELS,
  AREA_RANGES,
  IOU_THRESHOLDS,
  MAX_DETS,
  RECALL_THRESHOLDS,
  type AreaLabel,
} from './cocoParams.js';

const T = IOU_THRESHOLDS.length;
const R = RECALL_THRESHOLDS.length;
const A = AREA_RANGES.length;
const M = MAX_DETS.length;

/** One summary number: AP (mean precision) or AR (mean recall) over a slice of the arrays. */
export interface SummarySlice {
  kind: 'AP' | 'AR';
  /** One IoU threshold (looked up with `===`, as pycocotools' `np.where(iouThr == p.iouThrs)`); all if absent. */
  iouThr?: number;
  area: AreaLabel;
  maxDets: number;
}

/** The 12 slices of `_summarizeDets()`, in `stats` order. */
export const SUMMARY_SLICES: readonly SummarySlice[] = [
  { kind: 'AP', area: 'all', maxDets: 100 },
  { kind: 'AP', iouThr: 0.5, area: 'all', maxDets: 100 },
  { kind: 'AP', iouThr: 0.75, area: 'all', maxDets: 100 },
  { kind: 'AP', area: 'small', maxDets: 100 },
  { kind: 'AP', area: 'medium', maxDets: 100 },
  { kind: 'AP', area: 'large', maxDets: 100 },
  { kind: 'AR', area: 'all', maxDets: 1 },
  { kind: 'AR', area: 'all', maxDets: 10 },
  { kind: 'AR', area: 'all', maxDets: 100 },
  { kind: 'AR', area: 'small', maxDets: 100 },
  { kind: 'AR', area: 'medium', maxDets: 100 },
  { kind: 'AR', area: 'large', maxDets: 100 },
];

/** Short names of the 12 stats, e.g. `AP@[.50:.95]|all|100`, `AR@[.50:.95]|small|100`. */
export const STATS_NAMES: readonly string[] = SUMMARY_SLICES.map(
  (s) =>
    `${s.kind}@${s.iouThr === undefined ? '[.50:.95]' : s.iouThr.toFixed(2).slice(1)}|${s.area}|${s.maxDets}`,
);

/** Mean of the slice's defined entries, over all categories or only category index `k`; -1 if none. */
export function summarizeSlice(pr: CocoPrecisionRecall, slice: SummarySlice, k?: number): number {
  const K = pr.numCategories;
  const a = AREA_LABELS.indexOf(slice.area);
  const m = MAX_DETS.indexOf(slice.maxDets);
  let sum = 0;
  let n = 0;
  const k0 = k ?? 0;
  const k1 = k === undefined ? K : k + 1;
  for (let t = 0; t < T; t++) {
    if (slice.iouThr !== undefined && IOU_THRESHOLDS[t] !== slice.iouThr) continue;
    for (let kk = k0; kk < k1; kk++) {
      if (slice.kind === 'AR') {
        const v = pr.recall[((t * K + kk) * A + a) * M + m];
        if (v > -1) {
          sum += v;
          n++;
        }
        continue;
      }
      for (let r = 0; r < R; r++) {
        const v = pr.precision[(((t * R + r) * K + kk) * A + a) * M + m];
        if (v > -1) {
          sum += v;
          n++;
        }
      }
    }
  }
  return n === 0 ? -1 : sum / n;
}

/** `COCOeval.stats`: the 12 numbers in `STATS_NAMES` order. */
export function summarizeStats(pr: CocoPrecisionRecall): number[] {
  return SUMMARY_SLICES.map((s) => summarizeSlice(pr, s));
}

/**
 * AP (all areas, 100 detections) at each IoU threshold alone, keyed by the threshold with two decimals
 * ("0.50" ... "0.95"); -1 where undefined. Its mean over the ten is AP@[.50:.95]; "0.50" and "0.75" are stats 1
 * and 2.
 */
export function summarizeApPerIou(pr: CocoPrecisionRecall): Record<string, number> {
  const out: Record<string, number> = {};
  for (const iouThr of IOU_THRESHOLDS)
    out[iouThr.toFixed(2)] = summarizeSlice(pr, { kind: 'AP', iouThr, area: 'all', maxDets: 100 });
  return out;
}

/** Per-category slices (area `all`, maxDets 100 unless named otherwise); -1 where undefined. */
export interface CocoCategoryResult {
  /** AP@[.50:.95] */
  ap: number;
  ap50: number;
  ap75: number;
  ap_small: number;
  ap_medium: number;
  ap_large: number;
  /** AR@[.50:.95] with maxDets 1 */
  ar1: number;
  ar10: number;
  ar100: number;
}

/** The slices of one category index k. */
export function summarizeCategory(pr: CocoPrecisionRecall, k: number): CocoCategoryResult {
  const s = SUMMARY_SLICES;
  const v = (i: number): number => summarizeSlice(pr, s[i], k);
  return {
    ap: v(0),
    ap50: v(1),
    ap75: v(2),
    ap_small: v(3),
    ap_medium: v(4),
    ap_large: v(5),
    ar1: v(6),
    ar10: v(7),
    ar100: v(8),
  };
}

/**
 * Python's `'{:0.3f}'.format(x)`: like `toFixed(3)` except that an exact tie rounds half to even (Python rounds
 * the exact binary value correctly, `toFixed` rounds ties up: 0.0625 prints 0.062 in Python, 0.063 in JS).
 */
export function formatFixed3(x: number): string {
  const y = Math.abs(x) * 1000;
  const floor = Math.floor(y);
  if (y - floor === 0.5 && Number.isInteger(x * 16) && floor % 2 === 0) {
    return (Math.sign(x) * (floor / 1000)).toFixed(3);
  }
  return x.toFixed(3);
}

/**
 * The 12 lines `COCOeval.summarize()` prints, joined by "\n", byte for byte:
 * ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.xxx`.
 */
export function formatSummary(stats: readonly number[]): string {
  if (stats.length !== SUMMARY_SLICES.length) {
    throw new Error(`formatSummary: stats has ${stats.length} values, expected ${SUMMARY_SLICES.length}`);
  }
  const iouRange = `${IOU_THRESHOLDS[0].toFixed(2)}:${IOU_THRESHOLDS[T - 1].toFixed(2)}`;
  return SUMMARY_SLICES.map((s, i) => {
    const title = (s.kind === 'AP' ? 'Average Precision' : 'Average Recall').padEnd(18);
    const iou = (s.iouThr === undefined ? iouRange : s.iouThr.toFixed(2)).padEnd(9);
    return ` ${title} (${s.kind}) @[ IoU=${iou} | area=${s.area.padStart(6)} | maxDets=${String(s.maxDets).padStart(3)} ] = ${formatFixed3(stats[i])}`;
  }).join('\n');
}

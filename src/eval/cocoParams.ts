/**
 * The fixed parameters of pycocotools' `COCOeval` for `iouType='bbox'` (class `Params`, v2.0.11), reproduced
 * bit for bit: the thresholds come from `np.linspace`, whose values are not the decimal literals
 * (e.g. the 9th IoU threshold is 0.8999999999999999), and `summarize()` looks thresholds up by `==`.
 */

/**
 * `np.linspace(start, stop, num, endpoint=True)` as numpy computes it: `i * ((stop - start) / (num - 1)) + start`,
 * with the last value set to `stop` exactly.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/** IoU thresholds `np.linspace(.5, 0.95, 10)`: T = 10 values. */
export const IOU_THRESHOLDS: Float64Array = linspace(0.5, 0.95, 10);

/** Recall thresholds `np.linspace(.0, 1.00, 101)`: R = 101 values, the 101-point interpolation. */
export const RECALL_THRESHOLDS: Float64Array = linspace(0, 1, 101);

/** Detections kept per image **and category** (top-k by score), in the order `accumulate()` indexes them. */
export const MAX_DETS: readonly number[] = [1, 10, 100];

/** Area ranges, inclusive at both ends, in square pixels: `[[0, 1e5**2], [0, 32**2], [32**2, 96**2], [96**2, 1e5**2]]`. */
export const AREA_RANGES: readonly (readonly [number, number])[] = [
  [0, 1e5 ** 2],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];

/** Labels of `AREA_RANGES`, same order. */
export const AREA_LABELS = ['all', 'small', 'medium', 'large'] as const;
export type AreaLabel = (typeof AREA_LABELS)[number];

/**
 * pycocotools' `min([t, 1 - 1e-10])`: a detection matches a GT when IoU >= this (so an IoU threshold of 1 would
 * still accept IoU 1 - 1e-10).
 */
export function matchThreshold(t: number): number {
  return Math.min(t, 1 - 1e-10);
}

/** `np.spacing(1)`, the epsilon in pycocotools' precision `tp / (fp + tp + eps)`. */
export const NP_SPACING_1 = 2.220446049250313e-16;

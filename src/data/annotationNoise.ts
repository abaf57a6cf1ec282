/**
 * Annotation noise for robustness experiments (the paper's claim that GHM down-weights outliers): a given
 * fraction of boxes is mislabeled, jittered or dropped. The counts are exact, `round(fraction * n)` each,
 * on disjoint sets of annotations drawn by one seeded shuffle (drop first, then label, then jitter), so
 * the fractions must sum to at most 1.
 *
 * - `label`: the class is replaced by a different class, uniformly among the others;
 * - `jitter`: each edge moves by a uniform offset in [-jitterMagnitude, +jitterMagnitude] times the box's
 *   width (x edges) or height (y edges), then the box is clipped to the image and kept at least 1 px wide/high;
 * - `drop`: the annotation is removed.
 */
import type { Random } from '../utils/random.js';

export interface AnnotationNoiseOptions {
  /** Fraction of annotations given a wrong class, in [0, 1]. Default 0. */
  label?: number;
  /** Fraction of annotations whose box is jittered, in [0, 1]. Default 0. */
  jitter?: number;
  /** Fraction of annotations removed, in [0, 1]. Default 0. */
  drop?: number;
  /** Largest edge offset of a jittered box, as a fraction of its width/height. Default 0.25. */
  jitterMagnitude?: number;
}

/** The record of the noise applied to one annotation, written next to it in the COCO file. */
export type NoiseRecord =
  | { kind: 'label'; original_category_id: number }
  | { kind: 'jitter'; original_bbox: [number, number, number, number] };

/** The view of an annotation that the noise needs; it edits `classIndex` and `bboxXyxy` in place. */
export interface NoisyAnnotation {
  classIndex: number;
  /** [x1, y1, x2, y2] pixels. */
  bboxXyxy: [number, number, number, number];
  imageWidth: number;
  imageHeight: number;
  noise?: NoiseRecord;
  /** Category id before noise, for the record. */
  categoryId: number;
}

export interface NoiseCounts {
  label: number;
  jitter: number;
  drop: number;
  total: number;
}

export function validateNoiseOptions(
  o: AnnotationNoiseOptions,
  where: string,
): Required<AnnotationNoiseOptions> {
  const r = {
    label: o.label ?? 0,
    jitter: o.jitter ?? 0,
    drop: o.drop ?? 0,
    jitterMagnitude: o.jitterMagnitude ?? 0.25,
  };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isFinite(v) || v < 0 || (k !== 'jitterMagnitude' && v > 1)) {
      throw new Error(`${where}: noise ${k} must be a fraction in [0, 1], got ${v}`);
    }
  }
  if (r.label + r.jitter + r.drop > 1 + 1e-9) {
    throw new Error(
      `${where}: noise fractions label ${r.label} + jitter ${r.jitter} + drop ${r.drop} = ` +
        `${r.label + r.jitter + r.drop} exceed 1; they apply to disjoint sets of boxes`,
    );
  }
  return r;
}

/**
 * Applies the noise to `anns` (edited in place: `classIndex`, `bboxXyxy` and `noise`; `categoryId` keeps the
 * original id, which the label record quotes) and returns the survivors in their original order with the counts.
 */
export function applyAnnotationNoise<T extends NoisyAnnotation>(
  anns: T[],
  options: AnnotationNoiseOptions,
  numClasses: number,
  rng: Random,
): { kept: T[]; counts: NoiseCounts } {
  const o = validateNoiseOptions(options, 'applyAnnotationNoise');
  const n = anns.length;
  const nDrop = Math.round(o.drop * n);
  const nLabel = numClasses > 1 ? Math.round(o.label * n) : 0;
  const nJitter = Math.round(o.jitter * n);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const dropped = new Set(order.slice(0, nDrop));
  for (const i of order.slice(nDrop, nDrop + nLabel)) {
    const a = anns[i]!;
    const shift = rng.int(1, numClasses - 1);
    a.noise = { kind: 'label', original_category_id: a.categoryId };
    a.classIndex = (a.classIndex + shift) % numClasses;
  }
  for (const i of order.slice(nDrop + nLabel, nDrop + nLabel + nJitter)) {
    const a = anns[i]!;
    const [x1, y1, x2, y2] = a.bboxXyxy;
    const w = x2 - x1;
    const h = y2 - y1;
    const m = o.jitterMagnitude;
    let nx1 = Math.max(0, x1 + rng.uniform(-m, m) * w);
    let ny1 = Math.max(0, y1 + rng.uniform(-m, m) * h);
    let nx2 = Math.min(a.imageWidth, x2 + rng.uniform(-m, m) * w);
    let ny2 = Math.min(a.imageHeight, y2 + rng.uniform(-m, m) * h);
    // Keep a valid box of at least 1 px: grow around the centre if the edges crossed.
    if (nx2 - nx1 < 1) [nx1, nx2] = minSpan(nx1, nx2, a.imageWidth);
    if (ny2 - ny1 < 1) [ny1, ny2] = minSpan(ny1, ny2, a.imageHeight);
    a.noise = { kind: 'jitter', original_bbox: [x1, y1, x2 - x1, y2 - y1] };
    a.bboxXyxy = [nx1, ny1, nx2, ny2];
  }
  return {
    kept: anns.filter((_, i) => !dropped.has(i)),
    counts: { label: nLabel, jitter: nJitter, drop: nDrop, total: n },
  };
}

function minSpan(a: number, b: number, limit: number): [number, number] {
  const c = Math.min(limit - 0.5, Math.max(0.5, (a + b) / 2));
  return [c - 0.5, c + 0.5];
}

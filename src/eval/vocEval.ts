/**
 * Pascal VOC detection AP, as the VOC devkit's Python port `voc_eval.py` (py-faster-rcnn / mmdetection's
 * `eval_map` with `use_07_metric`) computes it, per class and as the mean over classes (mAP).
 *
 * Box format: `bboxXyxy = [xmin, ymin, xmax, ymax]`. Two coordinate conventions (option `boxCoordinates`):
 * - `'vocPixelIndices'` (default): VOC annotation values, 1-based **inclusive** pixel indices, so a box covers
 *   `xmax - xmin + 1` pixels and areas / intersections carry the devkit's "+1":
 *   `iw = max(min(x2, X2) - max(x1, X1) + 1, 0)`, `area = (x2 - x1 + 1) * (y2 - y1 + 1)`.
 * - `'continuous'`: ghmdet's internal xyxy (`DatasetAnnotation.bboxXyxy`, detector outputs), 0-based
 *   continuous coordinates where a box covers `x2 - x1`; no "+1". The VOC reader maps index `xmin` to
 *   `xmin - 1` and `xmax` to `xmax`, so this gives the same IoU as the first convention on the original file.
 *
 * Matching (per class, detections in descending score; equal scores keep input order, where the reference's
 * unstable quicksort leaves the order unspecified): a detection's best GT is the argmax of IoU over **all** GTs
 * of its image and class (first on ties), matched or not. If that IoU is > `iouThreshold` (strictly): a
 * `difficult` GT makes the detection ignored (neither TP nor FP), an unmatched GT makes it a TP (and marks the
 * GT), an already matched GT makes it an FP (a duplicate; the detection does not fall back to another GT).
 * Otherwise it is an FP. Difficult GTs are not counted in the number of positives.
 *
 * AP: `rec = tp / npos`, `prec = tp / max(tp + fp, eps)` (cumulative, eps = 2.22e-16).
 * - VOC2007 11-point (`use07Metric`): mean over t in {0, 0.1, ..., 1} of max(prec[rec >= t]) (0 if none).
 * - VOC2010+ all-point (default): area under the precision envelope (right-to-left running max), summed where
 *   recall changes, with sentinels rec = 0 / 1 and prec = 0 at both ends.
 * A class without non-difficult GT has AP -1 (undefined; the reference divides by zero) and is left out of mAP.
 */

/** `[xmin, ymin, xmax, ymax]`, xmax >= xmin, ymax >= ymin; coordinates as chosen by `boxCoordinates`. */
export type BoxXyxy = [number, number, number, number];

export interface VocGroundTruthBox {
  imageId: number | string;
  /** Class name or index; results are keyed by `String(label)`. */
  label: number | string;
  bboxXyxy: BoxXyxy;
  /** VOC `difficult`: never a positive, and a detection matched to it is ignored. Default false. */
  difficult?: boolean;
}

export interface VocDetection {
  imageId: number | string;
  label: number | string;
  bboxXyxy: BoxXyxy;
  /** Confidence, any finite number, higher first. */
  score: number;
}

export interface VocEvalOptions {
  /** VOC2007 11-point interpolated AP instead of the VOC2010+ all-point AP. Default false. */
  use07Metric?: boolean;
  /** A detection matches when IoU > this (strictly). Default 0.5. */
  iouThreshold?: number;
  /** Coordinate convention of every box (see the module comment). Default 'vocPixelIndices' (the "+1"). */
  boxCoordinates?: 'vocPixelIndices' | 'continuous';
}

export interface VocClassResult {
  /** AP in [0, 1], or -1 without non-difficult GT. */
  ap: number;
  /** Number of non-difficult GT boxes (npos). */
  numPositives: number;
  numDetections: number;
  numTruePositives: number;
  numFalsePositives: number;
}

export interface VocEvalResult {
  /** Per class, keyed by `String(label)`, for every label of the GT or the detections, sorted. */
  perClass: Record<string, VocClassResult>;
  /** Mean AP over classes with AP defined (>= 0); -1 when there is none. */
  mAP: number;
}

const NP_FLOAT64_EPS = 2.220446049250313e-16;

function checkBox(where: string, b: unknown): void {
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new Error(
      `${where}.bboxXyxy: expected [xmin, ymin, xmax, ymax] (4 finite numbers), got ${JSON.stringify(b)}`,
    );
  }
  if (b[2] < b[0] || b[3] < b[1]) {
    throw new Error(
      `${where}.bboxXyxy: expected xmax >= xmin and ymax >= ymin, got [${b.join(', ')}]; is it xywh?`,
    );
  }
}

function checkInputs(gt: VocGroundTruthBox[], dets: VocDetection[], options: VocEvalOptions): void {
  if (!Array.isArray(gt))
    throw new Error(`gt: expected an array of VOC ground-truth boxes, got ${typeof gt}`);
  if (!Array.isArray(dets)) throw new Error(`dets: expected an array of VOC detections, got ${typeof dets}`);
  const key = (where: string, r: { imageId?: unknown; label?: unknown }): void => {
    for (const f of ['imageId', 'label'] as const) {
      const v = r[f];
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
        throw new Error(`${where}.${f}: expected a string or finite number, got ${String(v)}`);
      }
    }
  };
  gt.forEach((g, i) => {
    key(`gt[${i}]`, g);
    checkBox(`gt[${i}]`, g.bboxXyxy);
  });
  dets.forEach((d, i) => {
    key(`dets[${i}]`, d);
    checkBox(`dets[${i}]`, d.bboxXyxy);
    if (typeof d.score !== 'number' || !Number.isFinite(d.score)) {
      throw new Error(`dets[${i}].score: expected a finite number, got ${String(d.score)}`);
    }
  });
  const t = options.iouThreshold;
  if (t !== undefined && !(t >= 0 && t <= 1))
    throw new Error(`iouThreshold: expected a number in [0, 1], got ${t}`);
  const c = options.boxCoordinates;
  if (c !== undefined && c !== 'vocPixelIndices' && c !== 'continuous') {
    throw new Error(`boxCoordinates: expected 'vocPixelIndices' or 'continuous', got ${JSON.stringify(c)}`);
  }
}

/** AP from cumulative recall / precision (the devkit's `voc_ap`). */
export function vocAp(rec: ArrayLike<number>, prec: ArrayLike<number>, use07Metric: boolean): number {
  const n = rec.length;
  if (use07Metric) {
    let ap = 0;
    for (let i = 0; i <= 10; i++) {
      const t = i * 0.1; // np.arange(0., 1.1, 0.1)
      let p = 0;
      for (let j = 0; j < n; j++) if (rec[j] >= t && prec[j] > p) p = prec[j];
      ap += p / 11;
    }
    return ap;
  }
  const mrec = [0, ...Array.from(rec), 1];
  const mpre = [0, ...Array.from(prec), 0];
  for (let i = mpre.length - 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
  let ap = 0;
  for (let i = 0; i + 1 < mrec.length; i++)
    if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

function evaluateClass(
  gts: VocGroundTruthBox[],
  dets: VocDetection[],
  iouThreshold: number,
  offset: number,
  use07Metric: boolean,
): VocClassResult {
  const byImage = new Map<string, { boxes: VocGroundTruthBox[]; detected: boolean[] }>();
  let npos = 0;
  for (const g of gts) {
    const k = String(g.imageId);
    const rec = byImage.get(k) ?? { boxes: [], detected: [] };
    rec.boxes.push(g);
    rec.detected.push(false);
    byImage.set(k, rec);
    if (!g.difficult) npos++;
  }
  const order = dets.map((_, i) => i).sort((a, b) => dets[b].score - dets[a].score || a - b);
  const rec = new Float64Array(order.length);
  const prec = new Float64Array(order.length);
  let tp = 0;
  let fp = 0;
  order.forEach((di, n) => {
    const [x1, y1, x2, y2] = dets[di].bboxXyxy;
    const image = byImage.get(String(dets[di].imageId));
    let ovmax = -Infinity;
    let jmax = -1;
    for (let j = 0; image !== undefined && j < image.boxes.length; j++) {
      const [gx1, gy1, gx2, gy2] = image.boxes[j].bboxXyxy;
      const iw = Math.max(Math.min(gx2, x2) - Math.max(gx1, x1) + offset, 0);
      const ih = Math.max(Math.min(gy2, y2) - Math.max(gy1, y1) + offset, 0);
      const inters = iw * ih;
      const uni =
        (x2 - x1 + offset) * (y2 - y1 + offset) + (gx2 - gx1 + offset) * (gy2 - gy1 + offset) - inters;
      const ov = inters / uni;
      if (ov > ovmax) {
        ovmax = ov;
        jmax = j;
      }
    }
    if (image !== undefined && ovmax > iouThreshold) {
      if (!image.boxes[jmax].difficult) {
        if (!image.detected[jmax]) {
          tp++;
          image.detected[jmax] = true;
        } else fp++;
      }
    } else fp++;
    rec[n] = tp / npos;
    prec[n] = tp / Math.max(tp + fp, NP_FLOAT64_EPS);
  });
  return {
    ap: npos === 0 ? -1 : vocAp(rec, prec, use07Metric),
    numPositives: npos,
    numDetections: dets.length,
    numTruePositives: tp,
    numFalsePositives: fp,
  };
}

/** VOC AP per class and mAP of `dets` against `gt` (see the module comment for the exact rules). */
export function evaluateVoc(
  gt: VocGroundTruthBox[],
  dets: VocDetection[],
  options: VocEvalOptions = {},
): VocEvalResult {
  checkInputs(gt, dets, options);
  const iouThreshold = options.iouThreshold ?? 0.5;
  const offset = (options.boxCoordinates ?? 'vocPixelIndices') === 'vocPixelIndices' ? 1 : 0;
  const labels = [...new Set([...gt, ...dets].map((r) => String(r.label)))].sort();
  const perClass: Record<string, VocClassResult> = {};
  let sum = 0;
  let defined = 0;
  for (const label of labels) {
    const r = evaluateClass(
      gt.filter((g) => String(g.label) === label),
      dets.filter((d) => String(d.label) === label),
      iouThreshold,
      offset,
      options.use07Metric ?? false,
    );
    perClass[label] = r;
    if (r.ap >= 0) {
      sum += r.ap;
      defined++;
    }
  }
  return { perClass, mAP: defined === 0 ? -1 : sum / defined };
}

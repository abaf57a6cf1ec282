/**
 * Max-IoU assigner with mmdetection v2 semantics (`MaxIoUAssigner.assign_wrt_overlaps`), in JS on typed arrays
 * (assignment is not differentiated).
 *
 * Result per anchor (`assignedGt`, Int32Array): {@link ASSIGNED_IGNORE} (-1) = ignored (loss weight 0),
 * {@link ASSIGNED_NEGATIVE} (0) = background, `g + 1` = positive matched to ground-truth box `g` (1-based, as in mmdetection).
 *
 * Steps, for an IoU matrix `[numGt, numAnchors]`:
 *  1. every anchor starts ignored;
 *  2. anchors whose max IoU over the GTs is in [0, neg_iou_thr) become negative;
 *  3. anchors whose max IoU is >= pos_iou_thr become positive, matched to their argmax GT (first one on ties);
 *  4. low-quality matches (`match_low_quality`): each GT `g`, in index order, whose best IoU over all anchors is
 *     >= min_pos_iou **and > 0** also claims every anchor whose IoU with it equals that best value (ties included,
 *     `gt_max_assign_all`); a later GT overrides an earlier one on a shared anchor. The `> 0` guard departs from
 *     mmdetection on purpose: with `min_pos_iou = 0` a GT that overlaps no anchor would otherwise claim every anchor.
 *
 * Crowd boxes (COCO `iscrowd = 1`) never take part in matching. With `ignore_iof_thr > 0`, anchors whose
 * intersection-over-anchor-area with some crowd box exceeds it are then set to ignored, unless they are positive
 * (mmdetection's `gt_bboxes_ignore` with `ignore_iof_thr`, applied before matching there; here applied only to
 * anchors that would otherwise be negative, so a crowd region cannot hide a real object). The reference RetinaNet
 * (`ignore_iof_thr = -1`) simply drops crowd boxes, which is the default.
 */
import { iofMatrixXyxy, iouMatrixXyxy } from './iou.js';

/** Anchor ignored: label and box weights 0. */
export const ASSIGNED_IGNORE = -1;
/** Anchor assigned to the background. */
export const ASSIGNED_NEGATIVE = 0;

/** Options (mmdetection `assigner` vocabulary). */
export interface MaxIouAssignerOptions {
  /** IoU at or above which an anchor is positive. Default 0.5. */
  pos_iou_thr: number;
  /** IoU below which an anchor is negative. Default 0.4. */
  neg_iou_thr: number;
  /** Minimum IoU for a low-quality match. Default 0. */
  min_pos_iou: number;
  /** Let every GT claim its best anchor(s). Default true. */
  match_low_quality: boolean;
  /** Intersection-over-anchor threshold with crowd boxes above which negatives are ignored; <= 0 disables. Default -1. */
  ignore_iof_thr: number;
}

export const DEFAULT_ASSIGNER: MaxIouAssignerOptions = {
  pos_iou_thr: 0.5,
  neg_iou_thr: 0.4,
  min_pos_iou: 0,
  match_low_quality: true,
  ignore_iof_thr: -1,
};

/**
 * Assigns anchors from a precomputed IoU matrix.
 *
 * @param iou `[numGt, numAnchors]` row-major, values in [0, 1].
 * @returns `assignedGt` `[numAnchors]` (-1 ignore, 0 negative, g + 1 positive) and `maxIou` `[numAnchors]`.
 */
export function assignFromIou(
  iou: Float32Array,
  numGt: number,
  numAnchors: number,
  opts: MaxIouAssignerOptions = DEFAULT_ASSIGNER,
): { assignedGt: Int32Array; maxIou: Float32Array } {
  if (iou.length !== numGt * numAnchors) {
    throw new Error(`iou has length ${iou.length}, expected numGt * numAnchors = ${numGt} * ${numAnchors}`);
  }
  const assignedGt = new Int32Array(numAnchors).fill(ASSIGNED_IGNORE);
  const maxIou = new Float32Array(numAnchors);
  if (numGt === 0) {
    assignedGt.fill(ASSIGNED_NEGATIVE);
    return { assignedGt, maxIou };
  }
  const argmax = new Int32Array(numAnchors);
  for (let a = 0; a < numAnchors; a++) {
    let best = -1;
    let bestG = 0;
    for (let g = 0; g < numGt; g++) {
      const v = iou[g * numAnchors + a]!;
      if (v > best) {
        best = v;
        bestG = g;
      }
    }
    maxIou[a] = best;
    argmax[a] = bestG;
    if (best >= 0 && best < opts.neg_iou_thr) assignedGt[a] = ASSIGNED_NEGATIVE;
    if (best >= opts.pos_iou_thr) assignedGt[a] = bestG + 1;
  }
  if (opts.match_low_quality) {
    for (let g = 0; g < numGt; g++) {
      const row = g * numAnchors;
      let gtMax = 0;
      for (let a = 0; a < numAnchors; a++) gtMax = Math.max(gtMax, iou[row + a]!);
      if (gtMax <= 0 || gtMax < opts.min_pos_iou) continue;
      for (let a = 0; a < numAnchors; a++) if (iou[row + a] === gtMax) assignedGt[a] = g + 1;
    }
  }
  return { assignedGt, maxIou };
}

/**
 * Assigns anchors to the ground truth of one image.
 *
 * @param anchorsXyxy `[numAnchors * 4]` xyxy pixels.
 * @param gtXyxy `[numGt * 4]` xyxy pixels.
 * @param crowd optional `[numGt]`, 1 marks a crowd box (left out of matching; see the file comment).
 * @returns `assignedGt` `[numAnchors]` with GT indices into the full `gtXyxy` (crowd boxes are never assigned).
 */
export function assignAnchors(
  anchorsXyxy: Float32Array,
  gtXyxy: Float32Array,
  crowd: Uint8Array | undefined,
  opts: MaxIouAssignerOptions = DEFAULT_ASSIGNER,
): Int32Array {
  const numAnchors = anchorsXyxy.length / 4;
  const numGtAll = gtXyxy.length / 4;
  if (crowd !== undefined && crowd.length !== numGtAll) {
    throw new Error(`crowd has length ${crowd.length}, expected one flag per ground-truth box (${numGtAll})`);
  }
  const keep: number[] = [];
  const crowdIdx: number[] = [];
  for (let g = 0; g < numGtAll; g++) (crowd !== undefined && crowd[g] ? crowdIdx : keep).push(g);
  const gtKept = pickBoxes(gtXyxy, keep);
  const iou = iouMatrixXyxy(gtKept, anchorsXyxy);
  const { assignedGt } = assignFromIou(iou, keep.length, numAnchors, opts);
  for (let a = 0; a < numAnchors; a++) {
    const v = assignedGt[a]!;
    if (v > 0) assignedGt[a] = keep[v - 1]! + 1;
  }
  if (opts.ignore_iof_thr > 0 && crowdIdx.length > 0) {
    const iof = iofMatrixXyxy(pickBoxes(gtXyxy, crowdIdx), anchorsXyxy);
    for (let c = 0; c < crowdIdx.length; c++) {
      for (let a = 0; a < numAnchors; a++) {
        if (assignedGt[a] === ASSIGNED_NEGATIVE && iof[c * numAnchors + a]! > opts.ignore_iof_thr) {
          assignedGt[a] = ASSIGNED_IGNORE;
        }
      }
    }
  }
  return assignedGt;
}

function pickBoxes(boxes: Float32Array, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * 4);
  idx.forEach((g, i) => out.set(boxes.subarray(4 * g, 4 * g + 4), 4 * i));
  return out;
}

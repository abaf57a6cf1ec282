/**
 * Training-target encoding for one image (Keras-Hub's "label encoder"): assigns the anchors with the max-IoU
 * assigner and writes classification and regression targets as typed arrays (never differentiated).
 *
 * Anchor order is the detector's: levels in order, inside a level (y, x, anchor).
 */
import { ASSIGNED_IGNORE, assignAnchors, type MaxIouAssignerOptions } from './maxIouAssigner.js';
import { encodeBoxes, type BoxCoderOptions } from './boxCoder.js';

/** Ground truth of one image, in the pixel frame of the network input (after resize and padding). */
export interface ImageGroundTruth {
  /** `[n * 4]` xyxy pixels. */
  boxesXyxy: Float32Array;
  /** `[n]` class indices in [0, numClasses). */
  labels: Int32Array;
  /** Optional `[n]`, 1 = crowd box (left out of matching). */
  crowd?: Uint8Array;
}

/** Targets of one image; A = number of anchors, K = numClasses. */
export interface ImageTargets {
  /** `[A * K]` one-hot class targets in {0, 1}; all-zero rows are background (and ignored anchors). */
  labels: Float32Array;
  /** `[A]` classification weight per anchor: 1 for positives and negatives, 0 for ignored anchors. */
  labelWeights: Float32Array;
  /** `[A * 4]` encoded deltas for positives, 0 elsewhere. */
  bboxTargets: Float32Array;
  /** `[A * 4]` 1 on the four coordinates of positives, 0 elsewhere. */
  bboxWeights: Float32Array;
  /** Number of positive anchors. */
  numPos: number;
}

/**
 * Encodes the targets of one image.
 *
 * @param anchorsXyxy `[A * 4]` all levels' anchors, xyxy pixels.
 * An image without (non-crowd) ground truth gives all-negative targets with zero box weights.
 */
export function encodeImageTargets(
  anchorsXyxy: Float32Array,
  gt: ImageGroundTruth,
  numClasses: number,
  assigner: MaxIouAssignerOptions,
  coder: BoxCoderOptions,
): ImageTargets {
  const numGt = gt.labels.length;
  if (gt.boxesXyxy.length !== numGt * 4) {
    throw new Error(
      `boxesXyxy has length ${gt.boxesXyxy.length}, expected 4 * labels.length = ${4 * numGt} (xyxy per box)`,
    );
  }
  for (let g = 0; g < numGt; g++) {
    const l = gt.labels[g]!;
    if (!(l >= 0 && l < numClasses)) {
      throw new Error(
        `labels[${g}] = ${l}, expected a class index in [0, ${numClasses}); background is not a label here`,
      );
    }
  }
  const numAnchors = anchorsXyxy.length / 4;
  const assigned = assignAnchors(anchorsXyxy, gt.boxesXyxy, gt.crowd, assigner);
  const labels = new Float32Array(numAnchors * numClasses);
  const labelWeights = new Float32Array(numAnchors);
  const bboxWeights = new Float32Array(numAnchors * 4);
  const posAnchors: number[] = [];
  for (let a = 0; a < numAnchors; a++) {
    const v = assigned[a]!;
    if (v === ASSIGNED_IGNORE) continue;
    labelWeights[a] = 1;
    if (v > 0) {
      posAnchors.push(a);
      labels[a * numClasses + gt.labels[v - 1]!] = 1;
      bboxWeights.fill(1, 4 * a, 4 * a + 4);
    }
  }
  const bboxTargets = new Float32Array(numAnchors * 4);
  if (posAnchors.length > 0) {
    const pa = new Float32Array(posAnchors.length * 4);
    const pg = new Float32Array(posAnchors.length * 4);
    posAnchors.forEach((a, i) => {
      const g = assigned[a]! - 1;
      pa.set(anchorsXyxy.subarray(4 * a, 4 * a + 4), 4 * i);
      pg.set(gt.boxesXyxy.subarray(4 * g, 4 * g + 4), 4 * i);
    });
    const enc = encodeBoxes(pa, pg, coder);
    posAnchors.forEach((a, i) => bboxTargets.set(enc.subarray(4 * i, 4 * i + 4), 4 * a));
  }
  return { labels, labelWeights, bboxTargets, bboxWeights, numPos: posAnchors.length };
}

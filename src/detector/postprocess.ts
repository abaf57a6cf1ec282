/**
 * Inference post-processing of one image, in the standard RetinaNet order, each step a named function:
 *   sigmoid (on the device, see `RetinaNet`) -> {@link thresholdScores} (score > score_thr, per (anchor, class)
 *   pair) -> {@link topKCandidates} (nms_pre best pairs per level) -> {@link decodeCandidates} -> clip to the image
 *   -> {@link concatCandidates} (levels) -> {@link classwiseNms} (IoU nms_iou, classes kept apart by an offset) ->
 *   {@link keepTopDetections} (max_per_img).
 * This follows mmdetection v2's `filter_scores_and_topk` (threshold and top-k over pairs, so one anchor may
 * yield several classes) and `batched_nms`. Boxes are xyxy in network-input pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipBoxesXyxy, decodeBoxes, type BoxCoderOptions } from './boxCoder.js';
import type { TestConfig } from './config.js';

/** Candidate (anchor, class) pairs of one level, or detections once decoded. */
export interface Candidates {
  /** `[n]` anchor index within the level (meaningful before concatenation). */
  anchorIndex: Int32Array;
  /** `[n]` class index in [0, K). */
  classIndex: Int32Array;
  /** `[n]` sigmoid score in (0, 1). */
  scores: Float32Array;
  /** `[n * 4]` xyxy boxes, filled by {@link decodeCandidates}. */
  boxesXyxy: Float32Array;
}

/** Detections of one image: xyxy pixels, scores in (0, 1) descending, class indices. */
export interface Detections {
  boxesXyxy: Float32Array;
  scores: Float32Array;
  classIndex: Int32Array;
}

/**
 * Pairs with score > `scoreThr`, from a level's scores `[A_l * K]` (row-major anchor, class). The threshold is
 * rounded to float32 first, as PyTorch compares a float32 tensor with a Python float (a score of exactly
 * float32(0.05) is not above 0.05).
 */
export function thresholdScores(scores: Float32Array, numClasses: number, scoreThr: number): Candidates {
  const thr = Math.fround(scoreThr);
  const anchors: number[] = [];
  const classes: number[] = [];
  const kept: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s > thr) {
      anchors.push(Math.floor(i / numClasses));
      classes.push(i % numClasses);
      kept.push(s);
    }
  }
  return {
    anchorIndex: Int32Array.from(anchors),
    classIndex: Int32Array.from(classes),
    scores: Float32Array.from(kept),
    boxesXyxy: new Float32Array(0),
  };
}

/** The `k` highest-scoring candidates, by descending score (stable for ties). */
export function topKCandidates(c: Candidates, k: number): Candidates {
  const order = Array.from(c.scores.keys()).sort((a, b) => c.scores[b]! - c.scores[a]! || a - b);
  return pick(c, order.slice(0, k));
}

/**
 * Decodes each candidate's deltas against its anchor and clips to `imageShape` `[height, width]`.
 *
 * @param levelAnchorsXyxy `[A_l * 4]` the level's anchors; @param levelDeltas `[A_l * 4]` the image's deltas.
 */
export function decodeCandidates(
  c: Candidates,
  levelAnchorsXyxy: Float32Array,
  levelDeltas: Float32Array,
  coder: BoxCoderOptions,
  imageShape: [number, number],
): Candidates {
  const n = c.anchorIndex.length;
  const anchors = new Float32Array(n * 4);
  const deltas = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const a = c.anchorIndex[i]!;
    anchors.set(levelAnchorsXyxy.subarray(4 * a, 4 * a + 4), 4 * i);
    deltas.set(levelDeltas.subarray(4 * a, 4 * a + 4), 4 * i);
  }
  const boxes = clipBoxesXyxy(decodeBoxes(anchors, deltas, coder), imageShape);
  return { ...c, boxesXyxy: boxes };
}

/** Concatenates the levels' decoded candidates (anchor indices lose their meaning). */
export function concatCandidates(levels: Candidates[]): Candidates {
  const n = levels.reduce((s, c) => s + c.scores.length, 0);
  const out: Candidates = {
    anchorIndex: new Int32Array(n),
    classIndex: new Int32Array(n),
    scores: new Float32Array(n),
    boxesXyxy: new Float32Array(n * 4),
  };
  let o = 0;
  for (const c of levels) {
    out.anchorIndex.set(c.anchorIndex, o);
    out.classIndex.set(c.classIndex, o);
    out.scores.set(c.scores, o);
    out.boxesXyxy.set(c.boxesXyxy, 4 * o);
    o += c.scores.length;
  }
  return out;
}

/**
 * Class-wise NMS: boxes of different classes never suppress each other. Uses one `tf.image.nonMaxSuppression`
 * call on boxes shifted by `classIndex * (maxCoordinate + 1)` (mmdetection's `batched_nms` offset trick).
 *
 * @returns the survivors by descending score.
 */
export function classwiseNms(c: Candidates, iouThr: number): Candidates {
  const n = c.scores.length;
  if (n === 0) return c;
  let maxCoord = 0;
  for (const v of c.boxesXyxy) maxCoord = Math.max(maxCoord, v);
  const offsetBoxes = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const off = c.classIndex[i]! * (maxCoord + 1);
    // tf.image.nonMaxSuppression takes [y1, x1, y2, x2].
    offsetBoxes[4 * i] = c.boxesXyxy[4 * i + 1]! + off;
    offsetBoxes[4 * i + 1] = c.boxesXyxy[4 * i]! + off;
    offsetBoxes[4 * i + 2] = c.boxesXyxy[4 * i + 3]! + off;
    offsetBoxes[4 * i + 3] = c.boxesXyxy[4 * i + 2]! + off;
  }
  const keptT = tf.tidy(() =>
    tf.image.nonMaxSuppression(tf.tensor2d(offsetBoxes, [n, 4]), tf.tensor1d(c.scores), n, iouThr),
  );
  const kept = Array.from(keptT.dataSync());
  keptT.dispose();
  return pick(c, kept);
}

/** The first `maxPerImg` detections (the input is sorted by descending score). */
export function keepTopDetections(c: Candidates, maxPerImg: number): Detections {
  const n = Math.min(maxPerImg, c.scores.length);
  return {
    boxesXyxy: c.boxesXyxy.slice(0, 4 * n),
    scores: c.scores.slice(0, n),
    classIndex: c.classIndex.slice(0, n),
  };
}

/**
 * The whole chain for one image.
 *
 * @param levelScores per level `[A_l * K]` sigmoid scores of this image.
 * @param levelDeltas per level `[A_l * 4]` deltas of this image.
 * @param levelAnchors per level `[A_l * 4]` xyxy anchors.
 * @param imageShape `[height, width]` of the valid (unpadded) image area, for clipping.
 */
export function postprocessImage(
  levelScores: Float32Array[],
  levelDeltas: Float32Array[],
  levelAnchors: Float32Array[],
  numClasses: number,
  testCfg: TestConfig,
  coder: BoxCoderOptions,
  imageShape: [number, number],
): Detections {
  const perLevel = levelScores.map((scores, l) => {
    const above = thresholdScores(scores, numClasses, testCfg.score_thr);
    const top = topKCandidates(above, testCfg.nms_pre);
    return decodeCandidates(top, levelAnchors[l]!, levelDeltas[l]!, coder, imageShape);
  });
  const all = concatCandidates(perLevel);
  return keepTopDetections(classwiseNms(all, testCfg.nms_iou), testCfg.max_per_img);
}

function pick(c: Candidates, idx: number[]): Candidates {
  const hasBoxes = c.boxesXyxy.length === 4 * c.scores.length && c.scores.length > 0;
  const boxes = new Float32Array(hasBoxes ? idx.length * 4 : 0);
  if (hasBoxes) idx.forEach((j, i) => boxes.set(c.boxesXyxy.subarray(4 * j, 4 * j + 4), 4 * i));
  return {
    anchorIndex: Int32Array.from(idx, (j) => c.anchorIndex[j]!),
    classIndex: Int32Array.from(idx, (j) => c.classIndex[j]!),
    scores: Float32Array.from(idx, (j) => c.scores[j]!),
    boxesXyxy: boxes,
  };
}

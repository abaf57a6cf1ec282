import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import {
  classwiseNms,
  concatCandidates,
  keepTopDetections,
  postprocessImage,
  thresholdScores,
  topKCandidates,
  type Candidates,
} from '../../src/detector/postprocess.js';
import { DEFAULT_BOX_CODER } from '../../src/detector/boxCoder.js';

function cands(boxes: number[][], scores: number[], classes: number[]): Candidates {
  return {
    anchorIndex: Int32Array.from(scores.map((_, i) => i)),
    classIndex: Int32Array.from(classes),
    scores: Float32Array.from(scores),
    boxesXyxy: Float32Array.from(boxes.flat()),
  };
}

test('thresholdScores keeps (anchor, class) pairs strictly above the threshold; topK sorts by score', () => {
  // 3 anchors x 2 classes.
  const scores = Float32Array.from([0.9, 0.01, 0.04, 0.6, 0.3, 0.05]);
  const above = thresholdScores(scores, 2, 0.05);
  assert.deepEqual(Array.from(above.anchorIndex), [0, 1, 2]);
  assert.deepEqual(Array.from(above.classIndex), [0, 1, 0]);
  const top = topKCandidates(above, 2);
  assert.deepEqual(Array.from(top.anchorIndex), [0, 1]);
  assert.deepEqual(Array.from(top.scores), [Math.fround(0.9), Math.fround(0.6)]);
  assert.equal(thresholdScores(scores, 2, 0.95).scores.length, 0);
});

test('classwiseNms suppresses overlaps within a class only; keepTopDetections caps the count', async () => {
  await setupBackend({ backend: 'cpu' });
  const c = cands(
    [
      [0, 0, 10, 10],
      [1, 0, 11, 10], // IoU 0.82 with the first, same class: suppressed
      [1, 0, 11, 10], // same box, other class: kept
      [30, 30, 40, 40],
    ],
    [0.9, 0.8, 0.7, 0.6],
    [0, 0, 1, 0],
  );
  const before = tf.memory().numTensors;
  const kept = classwiseNms(c, 0.5);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Array.from(kept.scores), [0.9, 0.7, 0.6].map(Math.fround));
  assert.deepEqual(Array.from(kept.classIndex), [0, 1, 0]);
  assert.deepEqual(Array.from(kept.boxesXyxy.slice(4, 8)), [1, 0, 11, 10]);
  const top = keepTopDetections(kept, 2);
  assert.deepEqual(Array.from(top.scores), [0.9, 0.7].map(Math.fround));
  assert.equal(top.boxesXyxy.length, 8);
  assert.equal(classwiseNms(concatCandidates([]), 0.5).scores.length, 0);
});

test('postprocessImage: decode against anchors, clip to the image, class-wise NMS, max per image', async () => {
  await setupBackend({ backend: 'cpu' });
  // Level 0: 2 anchors, level 1: 1 anchor; 2 classes.
  const anchors = [Float32Array.from([0, 0, 20, 20, 2, 0, 22, 20]), Float32Array.from([40, 40, 80, 80])];
  const scores = [Float32Array.from([0.9, 0.01, 0.8, 0.02]), Float32Array.from([0.03, 0.7])];
  const deltas = [new Float32Array(8), Float32Array.from([0.5, 0, 0, 0])];
  const testCfg = { nms_pre: 1000, score_thr: 0.05, nms_iou: 0.5, max_per_img: 100 };
  const det = postprocessImage(scores, deltas, anchors, 2, testCfg, DEFAULT_BOX_CODER, [64, 70]);
  // Anchor 1 of level 0 overlaps anchor 0 (IoU 0.82, same class 0): suppressed. Level 1's box moves right by
  // half its width (to x 60..100) and is clipped to the image width 70.
  assert.deepEqual(Array.from(det.scores), [0.9, 0.7].map(Math.fround));
  assert.deepEqual(Array.from(det.classIndex), [0, 1]);
  assert.deepEqual(Array.from(det.boxesXyxy), [0, 0, 20, 20, 60, 40, 70, 64]);
  const one = postprocessImage(
    scores,
    deltas,
    anchors,
    2,
    { ...testCfg, max_per_img: 1 },
    DEFAULT_BOX_CODER,
    [64, 70],
  );
  assert.equal(one.scores.length, 1);
});

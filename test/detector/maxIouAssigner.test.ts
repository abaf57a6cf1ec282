import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ASSIGNED_IGNORE,
  ASSIGNED_NEGATIVE,
  DEFAULT_ASSIGNER,
  assignAnchors,
  assignFromIou,
} from '../../src/detector/maxIouAssigner.js';
import { iouMatrixXyxy } from '../../src/detector/iou.js';

// 4 GTs x 6 anchors, built by hand:
//  anchor 0: IoU 0.7 with gt0 (positive), but gt1's best anchor is also anchor 0 (0.6): the low-quality match
//            of gt1 overrides it (mmdetection semantics: later GTs claim their best anchors last);
//  anchor 1: best 0.45, between the thresholds: ignored;
//  anchors 2 and 4: tied best (0.3) of gt2, so both are claimed by gt2 (ties included);
//  anchor 3: IoU 0 everywhere: negative; gt3 overlaps nothing: the max-IoU-0 guard keeps it from claiming all.
const IOU = Float32Array.from(
  [
    [0.7, 0.45, 0.1, 0.0, 0.3, 0.2],
    [0.6, 0.0, 0.35, 0.0, 0.3, 0.35],
    [0.0, 0.0, 0.3, 0.0, 0.3, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
  ].flat(),
);

test('assigner: positives, ignores, negatives and low-quality matches with ties on a hand-made IoU matrix', () => {
  const { assignedGt, maxIou } = assignFromIou(IOU, 4, 6);
  assert.deepEqual(Array.from(assignedGt), [2, ASSIGNED_IGNORE, 3, ASSIGNED_NEGATIVE, 3, ASSIGNED_NEGATIVE]);
  assert.deepEqual(Array.from(maxIou), Array.from(Float32Array.from([0.7, 0.45, 0.35, 0, 0.3, 0.35])));
});

test('assigner: without low-quality matching only the IoU thresholds decide', () => {
  const { assignedGt } = assignFromIou(IOU, 4, 6, { ...DEFAULT_ASSIGNER, match_low_quality: false });
  assert.deepEqual(Array.from(assignedGt), [1, -1, 0, 0, 0, 0]);
});

test('assigner: min_pos_iou above a GT best IoU stops its low-quality match', () => {
  const { assignedGt } = assignFromIou(IOU, 4, 6, { ...DEFAULT_ASSIGNER, min_pos_iou: 0.32 });
  assert.deepEqual(Array.from(assignedGt), [2, -1, 0, 0, 0, 0]);
});

test('assigner: no ground truth makes every anchor negative', () => {
  const { assignedGt } = assignFromIou(new Float32Array(0), 0, 5);
  assert.deepEqual(Array.from(assignedGt), [0, 0, 0, 0, 0]);
});

test('assigner: a single GT overlapping no anchor claims nothing (max IoU 0 guard)', () => {
  const { assignedGt } = assignFromIou(new Float32Array(3), 1, 3);
  assert.deepEqual(Array.from(assignedGt), [0, 0, 0]);
});

test('assignAnchors: crowd boxes are left out of matching; ignore_iof_thr ignores negatives inside them', () => {
  const anchors = Float32Array.from([0, 0, 10, 10, 20, 20, 30, 30, 50, 50, 60, 60]);
  // gt0 matches anchor 0 exactly; gt1 is a crowd region covering anchor 1 entirely and anchor 0 partly.
  const gts = Float32Array.from([0, 0, 10, 10, 5, 5, 35, 35]);
  const crowd = Uint8Array.from([0, 1]);
  assert.deepEqual(Array.from(assignAnchors(anchors, gts, crowd)), [1, 0, 0]);
  const withIgnore = assignAnchors(anchors, gts, crowd, { ...DEFAULT_ASSIGNER, ignore_iof_thr: 0.5 });
  assert.deepEqual(Array.from(withIgnore), [1, ASSIGNED_IGNORE, 0]);
  // Only crowd boxes: no positives at all.
  assert.deepEqual(Array.from(assignAnchors(anchors, gts.slice(4), Uint8Array.from([1]))), [0, 0, 0]);
});

test('iouMatrixXyxy: literal values, zero-area boxes give 0 (not NaN)', () => {
  const a = Float32Array.from([0, 0, 10, 10, 0, 0, 0, 0]);
  const b = Float32Array.from([0, 0, 10, 10, 5, 0, 15, 10, 20, 20, 30, 30]);
  const iou = iouMatrixXyxy(a, b);
  assert.deepEqual(
    Array.from(iou),
    [1, 50 / 150, 0, 0, 0, 0].map((v) => Math.fround(v)),
  );
  assert.throws(
    () => iouMatrixXyxy(Float32Array.from([1, 2, 3]), b),
    /boxesA has length 3, expected a multiple of 4/,
  );
});

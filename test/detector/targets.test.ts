import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeImageTargets } from '../../src/detector/targets.js';
import { DEFAULT_ASSIGNER } from '../../src/detector/maxIouAssigner.js';
import { DEFAULT_BOX_CODER, decodeBoxes } from '../../src/detector/boxCoder.js';

const anchors = Float32Array.from([0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 12, 12, 50, 50, 60, 60]);

test('targets: an image without ground truth is all negative with zero box weights', () => {
  const t = encodeImageTargets(
    anchors,
    { boxesXyxy: new Float32Array(0), labels: new Int32Array(0) },
    3,
    DEFAULT_ASSIGNER,
    DEFAULT_BOX_CODER,
  );
  assert.equal(t.numPos, 0);
  assert.ok(t.labels.every((v) => v === 0));
  assert.ok(t.labelWeights.every((v) => v === 1));
  assert.ok(t.bboxWeights.every((v) => v === 0));
  assert.ok(t.bboxTargets.every((v) => v === 0));
});

test('targets: one-hot labels, ignored anchors weight 0, box targets decode back to the GT', () => {
  // GT of class 2 at anchor 0 exactly; anchor 2 has IoU 100/144 = 0.69 (positive too); anchor 1 and 3 negative.
  const gt = { boxesXyxy: Float32Array.from([0, 0, 10, 10]), labels: Int32Array.from([2]) };
  const t = encodeImageTargets(anchors, gt, 3, DEFAULT_ASSIGNER, DEFAULT_BOX_CODER);
  assert.equal(t.numPos, 2);
  assert.deepEqual(Array.from(t.labels), [0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(t.labelWeights), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(t.bboxWeights), [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
  const back = decodeBoxes(anchors.slice(8, 12), t.bboxTargets.slice(8, 12));
  back.forEach((v, i) => assert.ok(Math.abs(v - gt.boxesXyxy[i]!) < 1e-4));
  // A GT half-overlapping an anchor (IoU between 0.4 and 0.5) leaves it ignored unless it is the GT's best.
  const gt2 = {
    boxesXyxy: Float32Array.from([0, 0, 10, 10, 52, 50, 62, 58]),
    labels: Int32Array.from([0, 1]),
  };
  const t2 = encodeImageTargets(
    anchors,
    gt2,
    3,
    { ...DEFAULT_ASSIGNER, match_low_quality: false },
    DEFAULT_BOX_CODER,
  );
  // anchor 3 vs gt1: inter 8*8 = 64, union 100 + 80 - 64 = 116, IoU 0.55 -> positive of class 1.
  assert.deepEqual(Array.from(t2.labels.slice(9, 12)), [0, 1, 0]);
});

test('targets: labels outside [0, numClasses) and box/label count mismatches are errors', () => {
  assert.throws(
    () =>
      encodeImageTargets(
        anchors,
        { boxesXyxy: Float32Array.from([0, 0, 1, 1]), labels: Int32Array.from([3]) },
        3,
        DEFAULT_ASSIGNER,
        DEFAULT_BOX_CODER,
      ),
    /labels\[0\] = 3, expected a class index in \[0, 3\)/,
  );
  assert.throws(
    () =>
      encodeImageTargets(
        anchors,
        { boxesXyxy: new Float32Array(8), labels: Int32Array.from([0]) },
        3,
        DEFAULT_ASSIGNER,
        DEFAULT_BOX_CODER,
      ),
    /boxesXyxy has length 8, expected 4 \* labels.length = 4/,
  );
});

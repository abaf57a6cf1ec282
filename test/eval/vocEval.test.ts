import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateVoc, vocAp, type VocDetection, type VocGroundTruthBox } from '../../src/eval/vocEval.js';

function close(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) < 1e-12, `${what}: got ${got}, expected ${want}`);
}

// One image, two "dog" boxes; detections TP (0.9), FP (0.8), TP (0.7):
// rec = [1/2, 1/2, 1], prec = [1, 1/2, 2/3].
const gt: VocGroundTruthBox[] = [
  { imageId: 'a', label: 'dog', bboxXyxy: [1, 1, 10, 10] },
  { imageId: 'a', label: 'dog', bboxXyxy: [21, 21, 40, 40] },
];
const dets: VocDetection[] = [
  { imageId: 'a', label: 'dog', bboxXyxy: [21, 21, 40, 40], score: 0.7 },
  { imageId: 'a', label: 'dog', bboxXyxy: [1, 1, 10, 10], score: 0.9 },
  { imageId: 'a', label: 'dog', bboxXyxy: [60, 60, 70, 70], score: 0.8 },
];

test('VOC all-point AP, hand computed: 1/2 * 1 + 1/2 * 2/3 = 5/6', () => {
  const r = evaluateVoc(gt, dets);
  close(r.perClass['dog']!.ap, 5 / 6, 'AP');
  close(r.mAP, 5 / 6, 'mAP');
  assert.equal(r.perClass['dog']!.numTruePositives, 2);
  assert.equal(r.perClass['dog']!.numFalsePositives, 1);
});

test('VOC2007 11-point AP, hand computed: (6 * 1 + 5 * 2/3) / 11', () => {
  const r = evaluateVoc(gt, dets, { use07Metric: true });
  close(r.perClass['dog']!.ap, (6 + (5 * 2) / 3) / 11, 'AP');
});

test('vocAp: sentinels, envelope and no detections', () => {
  close(vocAp([0.5, 1], [1, 1], false), 1, 'perfect');
  close(vocAp([], [], false), 0, 'no detections');
  close(vocAp([], [], true), 0, 'no detections, 07');
  // Recall reaching only 0.5 with precision 1: 6 of 11 thresholds (0 .. 0.5).
  close(vocAp([0.5], [1], true), 6 / 11, '07 half recall');
  close(vocAp([0.5], [1], false), 0.5, 'all-point half recall');
});

test('difficult GT: not a positive, and a detection matched to it is neither TP nor FP', () => {
  const g: VocGroundTruthBox[] = [
    { imageId: 1, label: 'cat', bboxXyxy: [1, 1, 10, 10], difficult: true },
    { imageId: 1, label: 'cat', bboxXyxy: [31, 31, 50, 50] },
  ];
  const d: VocDetection[] = [
    { imageId: 1, label: 'cat', bboxXyxy: [1, 1, 10, 10], score: 0.9 },
    { imageId: 1, label: 'cat', bboxXyxy: [31, 31, 50, 50], score: 0.5 },
  ];
  const r = evaluateVoc(g, d).perClass['cat']!;
  assert.equal(r.numPositives, 1);
  assert.equal(r.numTruePositives, 1);
  assert.equal(r.numFalsePositives, 0);
  close(r.ap, 1, 'AP');
});

test('the +1 pixel convention decides a match at IoU 0.5, and IoU must exceed the threshold strictly', () => {
  // GT rows 1..9 (9 px), detection rows 1..5 (5 px), both 10 px wide:
  // +1 convention: 50 / 90 = 0.556 > 0.5 -> TP;  continuous: 9*4 / (9*8) = 0.5, not > 0.5 -> FP.
  const g: VocGroundTruthBox[] = [{ imageId: 1, label: 0, bboxXyxy: [1, 1, 10, 9] }];
  const d: VocDetection[] = [{ imageId: 1, label: 0, bboxXyxy: [1, 1, 10, 5], score: 1 }];
  close(evaluateVoc(g, d).perClass['0']!.ap, 1, 'vocPixelIndices');
  close(evaluateVoc(g, d, { boxCoordinates: 'continuous' }).perClass['0']!.ap, 0, 'continuous');
  close(
    evaluateVoc(g, d, { iouThreshold: 0.3, boxCoordinates: 'continuous' }).perClass['0']!.ap,
    1,
    'iou 0.3',
  );
});

test('duplicates are false positives; detections on images without GT of the class are false positives', () => {
  const g: VocGroundTruthBox[] = [{ imageId: 'x', label: 'car', bboxXyxy: [1, 1, 10, 10] }];
  const d: VocDetection[] = [
    { imageId: 'x', label: 'car', bboxXyxy: [1, 1, 10, 10], score: 0.9 },
    { imageId: 'x', label: 'car', bboxXyxy: [1, 1, 10, 10], score: 0.8 },
    { imageId: 'y', label: 'car', bboxXyxy: [1, 1, 10, 10], score: 0.7 },
  ];
  const r = evaluateVoc(g, d).perClass['car']!;
  assert.equal(r.numTruePositives, 1);
  assert.equal(r.numFalsePositives, 2);
  close(r.ap, 1, 'AP (the TP ranks first)');
});

test('a class without GT has AP -1 and is left out of mAP; no detections give AP 0', () => {
  const r = evaluateVoc(gt, [...dets, { imageId: 'a', label: 'bird', bboxXyxy: [1, 1, 5, 5], score: 0.99 }]);
  assert.equal(r.perClass['bird']!.ap, -1);
  close(r.mAP, 5 / 6, 'mAP');
  const none = evaluateVoc(gt, []);
  assert.equal(none.perClass['dog']!.ap, 0);
  assert.equal(none.mAP, 0);
  assert.equal(evaluateVoc([], []).mAP, -1);
});

test('VOC input validation names the record and field', () => {
  assert.throws(
    () => evaluateVoc(gt, [{ ...dets[0]!, bboxXyxy: [10, 10, 5, 20] }]),
    /dets\[0\]\.bboxXyxy: expected xmax >= xmin/,
  );
  assert.throws(
    () => evaluateVoc(gt, [{ ...dets[0]!, score: Number.NaN }]),
    /dets\[0\]\.score: expected a finite number/,
  );
  assert.throws(() => evaluateVoc([{ ...gt[0]!, bboxXyxy: [1, 2] as never }], []), /gt\[0\]\.bboxXyxy/);
  assert.throws(
    () => evaluateVoc(gt, dets, { iouThreshold: 2 }),
    /iouThreshold: expected a number in \[0, 1\]/,
  );
});

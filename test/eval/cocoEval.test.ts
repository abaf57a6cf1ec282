import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCoco } from '../../src/eval/cocoEval.js';
import { formatFixed3, formatSummary } from '../../src/eval/cocoSummary.js';
import type { CocoAnnotation, CocoDetection, CocoGroundTruth } from '../../src/eval/cocoTypes.js';

const AP = 0;
const AP50 = 1;
const AP75 = 2;
const AP_SMALL = 3;
const AP_MEDIUM = 4;
const AR1 = 6;
const AR100 = 8;

function groundTruth(
  annotations: Partial<CocoAnnotation>[],
  categoryIds = [1, 2],
  imageIds = [1, 2],
): CocoGroundTruth {
  return {
    images: imageIds.map((id) => ({ id })),
    categories: categoryIds.map((id) => ({ id })),
    annotations: annotations.map((a, i) => {
      const bbox = a.bbox ?? [0, 0, 10, 10];
      return { id: i + 1, image_id: 1, category_id: 1, area: bbox[2] * bbox[3], iscrowd: 0, ...a, bbox };
    }),
  };
}

function det(d: Partial<CocoDetection>): CocoDetection {
  return { image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.5, ...d };
}

function close(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) < 1e-12, `${what}: got ${got}, expected ${want}`);
}

test('no detections: AP and AR are 0 (not NaN) for categories with GT, -1 for categories without', () => {
  const r = evaluateCoco(groundTruth([{ category_id: 1 }]), []);
  assert.deepEqual(r.perCategory[1]!.ap, 0);
  assert.deepEqual(r.perCategory[1]!.ar100, 0);
  assert.deepEqual(r.perCategory[2]!.ap, -1);
  assert.equal(r.stats[AP], 0);
  assert.equal(r.stats[AR100], 0);
  assert.ok(r.stats.every((s) => !Number.isNaN(s)));
});

test('empty ground truth (no images, no categories, or no annotations): every number is -1', () => {
  for (const gt of [
    { images: [], annotations: [], categories: [] },
    { images: [{ id: 1 }], annotations: [], categories: [{ id: 1 }] },
  ]) {
    // (allowExtraImages: with no images in the ground truth, the detection's image is not in it)
    const r = evaluateCoco(gt, [det({})], { allowExtraImages: true });
    assert.deepEqual(r.stats, new Array(12).fill(-1));
  }
});

test('IoU exactly 0.5 matches at threshold 0.50 only: AP@.5 = 1, AP@.75 = 0, AP = 0.1', () => {
  // GT 10x10, detection 10x5 inside it: intersection 50, union 100.
  const r = evaluateCoco(groundTruth([{ bbox: [0, 0, 10, 10] }]), [det({ bbox: [0, 0, 10, 5] })]);
  close(r.stats[AP50]!, 1, 'AP50');
  close(r.stats[AP75]!, 0, 'AP75');
  close(r.stats[AP]!, 0.1, 'AP');
  close(r.stats[AR100]!, 0.1, 'AR100');
});

test('a category without GT is -1 and left out of the means, even with detections', () => {
  const gt = groundTruth([{ category_id: 1 }]);
  const r = evaluateCoco(gt, [det({}), det({ category_id: 2, score: 0.9 })]);
  assert.equal(r.perCategory[2]!.ap, -1);
  assert.equal(r.perCategory[2]!.ar1, -1);
  close(r.stats[AP]!, 1, 'AP (category 1 only)');
});

test('detections of unknown categories are ignored; of unknown images, an error unless allowExtraImages', () => {
  const gt = groundTruth([{ category_id: 1 }, { category_id: 2, image_id: 2 }]);
  const dets = [det({}), det({ category_id: 2, image_id: 2, score: 0.3 })];
  const base = evaluateCoco(gt, dets);
  const otherCategory = evaluateCoco(gt, [
    ...dets,
    det({ category_id: 3, score: 0.99, bbox: [50, 50, 5, 5] }),
  ]);
  assert.deepEqual(otherCategory.stats, base.stats);
  assert.deepEqual(Object.keys(otherCategory.perCategory), ['1', '2']);
  const extra = [det({ image_id: 77, score: 0.99 }), ...dets, det({ image_id: 78 }), det({ image_id: 77 })];
  // pycocotools' loadRes asserts that every result's image is in the ground truth.
  assert.throws(
    () => evaluateCoco(gt, extra),
    new RegExp(
      '^Error: Results do not correspond to current coco set: 3 of 5 detections have an image_id that is not ' +
        'in the ground truth \\(2 images\\): 77, 78; .*same split',
    ),
  );
  const allowed = evaluateCoco(gt, extra.filter((d) => d.image_id !== 78).slice(0, 3), {
    allowExtraImages: true,
  });
  assert.deepEqual(allowed.stats, base.stats);
  assert.deepEqual(allowed.perCategory, base.perCategory);
});

test('duplicate annotation ids are an error (pycocotools keys annotations by id and would score another set)', () => {
  const gt = groundTruth([{ bbox: [0, 0, 10, 10] }, { bbox: [20, 20, 10, 10] }, { bbox: [40, 40, 10, 10] }]);
  gt.annotations[2]!.id = 2;
  assert.throws(
    () => evaluateCoco(gt, [det({})]),
    /^Error: gt\.annotations\[2\]\.id: 2 repeats gt\.annotations\[1\]\.id; .*unique id/,
  );
});

test('maxDets applies per image AND category: a low-scored TP of another category still counts at maxDets 1', () => {
  const gt = groundTruth([
    { category_id: 1, bbox: [0, 0, 10, 10] },
    { category_id: 2, bbox: [20, 20, 10, 10] },
  ]);
  const r = evaluateCoco(gt, [
    det({ category_id: 1, bbox: [50, 50, 10, 10], score: 0.9 }), // FP, top-1 of category 1
    det({ category_id: 1, bbox: [0, 0, 10, 10], score: 0.8 }), // TP, second of category 1
    det({ category_id: 2, bbox: [20, 20, 10, 10], score: 0.1 }), // TP, third in the image, top-1 of category 2
  ]);
  close(r.perCategory[1]!.ar1, 0, 'category 1 AR@1');
  close(r.perCategory[2]!.ar1, 1, 'category 2 AR@1');
  close(r.stats[AR1]!, 0.5, 'AR@1');
  close(r.perCategory[1]!.ar10, 1, 'category 1 AR@10');
});

test('crowd: IoU is intersection / detection area, matched detections are ignored, one crowd absorbs many', () => {
  // A crowd region [0,0,100,100] and one regular GT far away; three small detections inside the crowd
  // (IoU with the crowd = 1 each) rank above the true positive: all three are ignored, so AP = 1.
  const gt = groundTruth([{ bbox: [0, 0, 100, 100], iscrowd: 1 }, { bbox: [200, 200, 20, 20] }]);
  const r = evaluateCoco(gt, [
    det({ bbox: [10, 10, 5, 5], score: 0.9 }),
    det({ bbox: [30, 30, 5, 5], score: 0.8 }),
    det({ bbox: [60, 60, 5, 5], score: 0.7 }),
    det({ bbox: [200, 200, 20, 20], score: 0.6 }),
  ]);
  close(r.perCategory[1]!.ap, 1, 'AP');
  // Without the crowd flag the three would be false positives ahead of the TP.
  const noCrowd = evaluateCoco(groundTruth([{ bbox: [0, 0, 100, 100] }, { bbox: [200, 200, 20, 20] }]), [
    det({ bbox: [10, 10, 5, 5], score: 0.9 }),
    det({ bbox: [200, 200, 20, 20], score: 0.6 }),
  ]);
  assert.ok(noCrowd.perCategory[1]!.ap < 0.6);
});

test('an image with only a crowd GT: its category has no positive, so -1', () => {
  const r = evaluateCoco(groundTruth([{ bbox: [0, 0, 50, 50], iscrowd: 1 }]), [
    det({ bbox: [0, 0, 50, 50] }),
  ]);
  assert.equal(r.perCategory[1]!.ap, -1);
  assert.equal(r.stats[AP], -1);
});

test("area ranges use the GT's area field, not w*h (40x40 box with area 1000 is small)", () => {
  const r = evaluateCoco(groundTruth([{ bbox: [0, 0, 40, 40], area: 1000 }]), [
    det({ bbox: [0, 0, 40, 40] }),
  ]);
  close(r.stats[AP_SMALL]!, 1, 'AP small');
  assert.equal(r.stats[AP_MEDIUM], -1);
});

test('pycocotools quirk: a match to a GT with annotation id 0 is read as unmatched (a false positive)', () => {
  const gt = groundTruth([{ bbox: [0, 0, 10, 10] }]);
  gt.annotations[0]!.id = 0;
  const r = evaluateCoco(gt, [det({ bbox: [0, 0, 10, 10] })]);
  assert.equal(r.perCategory[1]!.ap, 0);
  gt.annotations[0]!.id = 5;
  close(evaluateCoco(gt, [det({ bbox: [0, 0, 10, 10] })]).perCategory[1]!.ap, 1, 'AP with id 5');
});

test('invalid input: errors name the record index, the field and what was expected', () => {
  const gt = groundTruth([{}]);
  assert.throws(
    () => evaluateCoco(gt, [det({}), { ...det({}), bbox: [1, 2, 3] as never }]),
    /dets\[1\]\.bbox: expected an xywh box/,
  );
  assert.throws(
    () => evaluateCoco(gt, [det({ score: Number.NaN })]),
    /dets\[0\]\.score: expected a finite number, got NaN/,
  );
  assert.throws(
    () => evaluateCoco(gt, [det({ bbox: [10, 10, 5, -2] })]),
    /dets\[0\]\.bbox: expected width and height >= 0/,
  );
  assert.throws(
    () => evaluateCoco(gt, [{ image_id: 1, bbox: [0, 0, 1, 1], score: 1 } as never]),
    /dets\[0\]\.category_id/,
  );
  const noArea = groundTruth([{}, {}]);
  delete (noArea.annotations[1] as Partial<CocoAnnotation>).area;
  assert.throws(() => evaluateCoco(noArea, []), /gt\.annotations\[1\]\.area: expected a finite number >= 0/);
  assert.throws(
    () => evaluateCoco({ images: [], categories: [] } as never, []),
    /gt\.annotations: expected an array/,
  );
  assert.throws(() => evaluateCoco(gt, {} as never), /dets: expected an array/);
});

test('returnArrays: precision [T,R,K,A,M] and recall [T,K,A,M] with their axes', () => {
  const r = evaluateCoco(groundTruth([{}]), [det({})], { returnArrays: true });
  assert.equal(r.precision!.length, 10 * 101 * 2 * 4 * 3);
  assert.equal(r.recall!.length, 10 * 2 * 4 * 3);
  assert.deepEqual(r.axes!.categoryIds, [1, 2]);
  assert.equal(r.axes!.iouThresholds[8], 0.8999999999999999); // np.linspace, not the literal 0.9
  assert.equal(evaluateCoco(groundTruth([{}]), []).precision, undefined);
});

test('formatSummary prints the pycocotools table byte for byte', () => {
  const stats = [0.8333333333333331, 0.8333, 0.8333, 0.5, 0.9999999999999998, -1, 0.75, 1, 1, 1, 1, -1];
  const lines = formatSummary(stats).split('\n');
  assert.equal(lines.length, 12);
  assert.equal(lines[0], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.833');
  assert.equal(lines[1], ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.833');
  assert.equal(lines[3], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.500');
  assert.equal(lines[5], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000');
  assert.equal(lines[6], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.750');
  assert.equal(lines[10], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 1.000');
  assert.throws(() => formatSummary([1, 2]), /stats has 2 values, expected 12/);
});

test("formatFixed3 rounds exact ties half to even like Python's format", () => {
  assert.equal(formatFixed3(0.0625), '0.062');
  assert.equal(formatFixed3(0.1875), '0.188');
  assert.equal(formatFixed3(0.3125), '0.312');
  assert.equal(formatFixed3(0.12345), '0.123');
  assert.equal(formatFixed3(0.0626), '0.063');
  assert.equal(formatFixed3(-1), '-1.000');
});

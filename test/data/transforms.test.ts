import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  boxesToOriginal,
  flipBoxesXyxy,
  flipImageHorizontal,
  keepRatioSize,
  normalizeImage,
  padInto,
  padToDivisor,
  resizeBilinear,
  scaleBoxesXyxy,
} from '../../src/data/transforms.js';
import { transformSample } from '../../src/data/loader.js';

/** A one-channel row replicated over RGB. */
const rgb = (values: number[]) => values.flatMap((v) => [v, v, v]);
const red = (a: Float32Array) => Array.from(a).filter((_, i) => i % 3 === 0);

test('keepRatioSize: mmcv rescale semantics for (1333, 800) and for a fixed max side', () => {
  const a = keepRatioSize(640, 480, [1333, 800]);
  assert.deepEqual([a.width, a.height], [1067, 800]);
  assert.equal(a.scaleX, 1067 / 640);
  assert.equal(a.scaleY, 800 / 480);
  const b = keepRatioSize(100, 50, [64, 64]);
  assert.deepEqual(b, { width: 64, height: 32, scaleX: 0.64, scaleY: 0.64 });
  // The long-side limit binds for elongated images.
  const c = keepRatioSize(1000, 200, [1333, 800]);
  assert.deepEqual([c.width, c.height], [1333, 267]);
  assert.throws(() => keepRatioSize(10, 10, [0, 5]), /scale must be two positive numbers, got \[0,5\]/);
});

test('resizeBilinear: half-pixel centres, clamped borders', () => {
  assert.deepEqual(red(resizeBilinear(rgb([0, 100]), 2, 1, 4, 1)), [0, 25, 75, 100]);
  assert.deepEqual(red(resizeBilinear(rgb([0, 10, 20, 30]), 4, 1, 2, 1)), [5, 25]);
  // 2x2 -> 1x1 averages the four pixels.
  assert.deepEqual(red(resizeBilinear(rgb([0, 10, 20, 30]), 2, 2, 1, 1)), [15]);
  const same = resizeBilinear(Uint8Array.from(rgb([7, 9])), 2, 1, 2, 1);
  assert.deepEqual(Array.from(same), rgb([7, 9]));
});

test('flip, scale and map back move boxes with the image', () => {
  const img = Float32Array.from(rgb([1, 2, 3, 4, 5, 6]));
  flipImageHorizontal(img, 3, 2);
  assert.deepEqual(red(img), [3, 2, 1, 6, 5, 4]);
  const boxes = Float32Array.from([1, 2, 3, 4, 0, 0, 10, 5]);
  assert.deepEqual(Array.from(flipBoxesXyxy(boxes, 10)), [7, 2, 9, 4, 0, 0, 10, 5]);
  assert.deepEqual(Array.from(scaleBoxesXyxy(Float32Array.from([1, 2, 3, 4]), 2, 0.5)), [2, 1, 6, 2]);
  const back = boxesToOriginal(Float32Array.from([6, 0, 8, 4]), [2, 2], true, 8);
  assert.deepEqual(Array.from(back), [0, 0, 1, 2]);
});

test('normalizeImage and padding', () => {
  const px = Float32Array.from([
    IMAGENET_MEAN[0] + IMAGENET_STD[0],
    IMAGENET_MEAN[1],
    IMAGENET_MEAN[2] - 2 * IMAGENET_STD[2],
  ]);
  const n = normalizeImage(px, IMAGENET_MEAN, IMAGENET_STD);
  assert.ok(Math.abs(n[0]! - 1) < 1e-6 && Math.abs(n[1]!) < 1e-6 && Math.abs(n[2]! + 2) < 1e-6);
  assert.deepEqual([padToDivisor(100, 32), padToDivisor(128, 32), padToDivisor(1, 32)], [128, 128, 32]);
  // A 2x1 image into slot 1 of a [2, 2, 3, 3] batch: top-left, zeros elsewhere.
  const batch = new Float32Array(2 * 2 * 3 * 3);
  padInto(batch, 1, 2, 3, Float32Array.from(rgb([5, 6])), 2, 1);
  assert.deepEqual(red(batch.subarray(18)), [5, 6, 0, 0, 0, 0]);
  assert.ok(batch.subarray(0, 18).every((v) => v === 0));
  assert.throws(
    () => padInto(batch, 0, 2, 3, new Float32Array(4 * 3), 4, 1),
    /image 4x1 does not fit the batch shape 3x2/,
  );
});

test('transformSample: resize then flip move the boxes; crowd and difficult are ignored', () => {
  const image = { data: new Uint8Array(4 * 2 * 3).fill(200), width: 4, height: 2 };
  const record = {
    id: 1,
    fileName: 'x.png',
    width: 4,
    height: 2,
    annotations: [
      {
        id: 1,
        bboxXyxy: [0, 0, 1, 2] as [number, number, number, number],
        classIndex: 2,
        categoryId: 3,
        iscrowd: false,
        area: 2,
      },
      {
        id: 2,
        bboxXyxy: [1, 0, 4, 1] as [number, number, number, number],
        classIndex: 0,
        categoryId: 1,
        iscrowd: true,
        area: 3,
      },
      {
        id: 3,
        bboxXyxy: [2, 1, 3, 2] as [number, number, number, number],
        classIndex: 1,
        categoryId: 2,
        iscrowd: false,
        area: 1,
        difficult: true,
      },
    ],
  };
  const s = transformSample(image, record, true, {
    resizeScale: [8, 8],
    mean: [100, 100, 100],
    std: [50, 50, 50],
  });
  assert.deepEqual([s.width, s.height, s.scaleX, s.scaleY], [8, 4, 2, 2]);
  assert.deepEqual(Array.from(s.boxes), [6, 0, 8, 4, 0, 0, 6, 2, 2, 2, 4, 4]);
  assert.deepEqual(Array.from(s.labels), [2, 0, 1]);
  assert.deepEqual(Array.from(s.ignore), [0, 1, 1]);
  assert.ok(s.data.every((v) => v === 2));
});

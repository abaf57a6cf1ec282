import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foundObjectClass, formatFoundObjectClass } from '../../src/eval/foundObjectClass.js';
import type { CocoGroundTruth } from '../../src/eval/cocoTypes.js';

const GT: CocoGroundTruth = {
  images: [{ id: 1 }, { id: 2 }, { id: 3 }],
  categories: [{ id: 1 }, { id: 2 }],
  annotations: [
    // image 1: object A (class 1) at [0, 0, 10, 10], object B (class 2) at [20, 20, 10, 10]
    { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100 },
    { id: 2, image_id: 1, category_id: 2, bbox: [20, 20, 10, 10], area: 100 },
    // image 2: object C (class 2), never found; a crowd region that does not count
    { id: 3, image_id: 2, category_id: 2, bbox: [0, 0, 10, 10], area: 100 },
    { id: 4, image_id: 2, category_id: 1, bbox: [30, 30, 10, 10], area: 100, iscrowd: 1 },
    // image 3: object D (class 1); its best detection at IoU 0.5 exactly
    { id: 5, image_id: 3, category_id: 1, bbox: [0, 0, 10, 10], area: 100 },
  ],
};

test('foundObjectClass: found at IoU >= 0.5 by any class, named by the top-scoring overlapping detection', () => {
  const r = foundObjectClass(GT, [
    // A: a right-class detection at 0.6 loses to a wrong-class one at 0.7 -> found, named wrong
    { image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.6 },
    { image_id: 1, category_id: 2, bbox: [1, 0, 10, 10], score: 0.7 },
    // B: a higher-scoring right-class box below IoU 0.5 does not count; the 0.2 one at IoU 1 names it right
    { image_id: 1, category_id: 2, bbox: [20, 20, 10, 10], score: 0.2 },
    { image_id: 1, category_id: 1, bbox: [25, 25, 10, 10], score: 0.9 },
    // C: only a detection of another image's id is near it; the crowd region's detection is ignored
    { image_id: 1, category_id: 2, bbox: [0, 0, 10, 10], score: 0.1 },
    { image_id: 2, category_id: 1, bbox: [30, 30, 10, 10], score: 0.9 },
    // D: IoU 10 * 5 / (100 + 50 - 50) = 0.5 exactly, right class
    { image_id: 3, category_id: 1, bbox: [0, 0, 10, 5], score: 0.3 },
    // a detection on an image the ground truth does not list is ignored
    { image_id: 9, category_id: 1, bbox: [0, 0, 10, 10], score: 0.3 },
  ]);
  assert.deepEqual(r, { objects: 4, found: 3, namedRight: 2, foundShare: 0.75, topClassRight: 2 / 3 });
  assert.equal(
    formatFoundObjectClass(r),
    'found 3 of 4 objects at IoU >= 0.5 (75.0 %); top-scoring detection of the right class for 2 of them (66.7 %)',
  );
});

test('foundObjectClass: no detections or no objects give shares of 0, not NaN; a bad threshold is an error', () => {
  assert.deepEqual(foundObjectClass(GT, []), {
    objects: 4,
    found: 0,
    namedRight: 0,
    foundShare: 0,
    topClassRight: 0,
  });
  const empty = foundObjectClass({ images: [{ id: 1 }], categories: [], annotations: [] }, []);
  assert.equal(empty.foundShare, 0);
  assert.throws(() => foundObjectClass(GT, [], 0), /iouThr must be in \(0, 1\], got 0/);
});

/**
 * Parity of imported RetinaNets with PyTorch, on the committed fixture (tools/make_parity_fixture.py): for
 * torchvision's retinanet_resnet50_fpn (v1), retinanet_resnet50_fpn_v2 and mmdetection v2's RetinaNet (against
 * tools/mmdet_reference.py, a reference implementation of mmdetection's semantics, since mmdetection itself is
 * not installable here), narrow models with random weights:
 *   - preprocessing: the framework's resize rule, interpolation, normalisation and padding on the raw images;
 *   - raw head outputs on PyTorch's own preprocessed batch: to HEAD_RTOL (1e-4) of the tensor's scale;
 *   - anchors;
 *   - final detections of the batch, box for box (IoU > 0.999, score within 1e-4, same class);
 *   - `detect()` on each raw image against PyTorch run on that image alone.
 * test/parity/regenerate.test.ts re-derives the fixture from PyTorch where it is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { concatLevelAnchors } from '../../src/detector/anchors.js';
import { prepareImage } from '../../src/detector/imageInput.js';
import { loadModelDir } from '../../src/detector/modelDir.js';
import { ALL_DETECTIONS, type RetinaNet } from '../../src/detector/retinaNet.js';
import {
  DETECTOR_ARCHS,
  FIXTURE_ROOT,
  HEAD_RTOL,
  matchDetections,
  readFixture,
  relativeError,
  type Fixture,
  type FixtureDetection,
} from './fixture.js';

/** PyTorch's preprocessed images agree with ghmdet's to this (normalised units, ~1/60 of a grey level). */
const INPUT_ATOL = 1e-4;
/** Anchors agree to this (pixels; float32 rounding of the base anchors). */
const ANCHOR_ATOL = 1e-3;

function rawImage(f: Fixture, i: number): { data: Uint8Array; width: number; height: number } {
  const a = f.arrays[`image${i}`]!;
  return { data: a.data as Uint8Array, height: a.shape[0]!, width: a.shape[1]! };
}

/** The worst matched pair over a test's detection lists: smallest IoU, largest score difference. */
interface Worst {
  iou: number;
  score: number;
}

function assertDetectionsMatch(
  what: string,
  expected: FixtureDetection[],
  got: FixtureDetection[],
  worst: Worst,
): void {
  const m = matchDetections(expected, got);
  assert.ok(
    m.matched === m.expected && m.got === m.expected,
    `${what}: ${m.matched} of ${m.expected} PyTorch detections matched, ghmdet has ${m.got}; first unmatched ` +
      JSON.stringify(m.firstUnmatched),
  );
  worst.iou = Math.min(worst.iou, m.minIou);
  worst.score = Math.max(worst.score, m.maxScoreDiff);
}

/** Detections of a prepared batch, mapped back to each original image (xyxy), as PyTorch reports them. */
function batchDetections(model: RetinaNet, f: Fixture, batch: tf.Tensor4D): FixtureDetection[][] {
  const resized = f.resized_sizes!;
  return model.predict(batch, resized).map((d, i) => {
    const [h, w] = f.image_sizes[i]!;
    const [sy, sx] = [resized[i]![0] / h, resized[i]![1] / w];
    return Array.from(d.scores, (score, j) => ({
      box: [
        d.boxesXyxy[4 * j]! / sx,
        d.boxesXyxy[4 * j + 1]! / sy,
        d.boxesXyxy[4 * j + 2]! / sx,
        d.boxesXyxy[4 * j + 3]! / sy,
      ] as [number, number, number, number],
      score,
      label: d.classIndex[j]!,
    }));
  });
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const arch of DETECTOR_ARCHS) {
    test(`parity ${arch} (${backend}): preprocessing, head outputs, anchors, detections`, async (t) => {
      await setupBackend({ backend });
      const f = readFixture(join(FIXTURE_ROOT, arch));
      const { model, info } = await loadModelDir(f.modelDir);
      const before = tf.memory().numTensors;
      const worst: Worst = { iou: 1, score: 0 };
      let inputDiff = 0;
      try {
        assert.equal(info.source?.['arch'], arch);
        // Preprocessing: each raw image through ghmdet against PyTorch's batch (padded to the batch's size).
        const batchArr = f.arrays['batch']!;
        const [, bh, bw] = batchArr.shape as [number, number, number, number];
        f.image_sizes.forEach((_, i) => {
          const { input, meta } = prepareImage(rawImage(f, i), model.config.preprocess);
          assert.deepEqual(meta.resizedSize, f.resized_sizes![i], `image ${i}: resized size`);
          const [, ph, pw] = input.shape;
          const mine = input.dataSync();
          input.dispose();
          let maxDiff = 0;
          for (let y = 0; y < bh; y++)
            for (let x = 0; x < bw; x++)
              for (let c = 0; c < 3; c++) {
                const ref = batchArr.data[((i * bh + y) * bw + x) * 3 + c]!;
                const v = y < ph && x < pw ? mine[(y * pw + x) * 3 + c]! : 0;
                maxDiff = Math.max(maxDiff, Math.abs(v - ref));
              }
          assert.ok(maxDiff <= INPUT_ATOL, `image ${i}: preprocessed input differs by ${maxDiff}`);
          inputDiff = Math.max(inputDiff, maxDiff);
        });

        const batch = tf.tensor4d(
          batchArr.data as Float32Array,
          batchArr.shape as [number, number, number, number],
        );
        try {
          const out = model.forward(batch, false);
          assert.deepEqual(out.featureSizes, f.feature_sizes);
          const cls = tf.concat(out.clsLogits, 1);
          const reg = tf.concat(out.bboxDeltas, 1);
          const clsErr = relativeError(cls.dataSync(), f.arrays['cls_logits']!.data);
          const regErr = relativeError(reg.dataSync(), f.arrays['bbox_deltas']!.data);
          tf.dispose([cls, reg, ...out.clsLogits, ...out.bboxDeltas]);
          assert.ok(clsErr <= HEAD_RTOL, `cls_logits relative error ${clsErr}`);
          assert.ok(regErr <= HEAD_RTOL, `bbox deltas relative error ${regErr}`);
          t.diagnostic(
            `${arch} ${backend}: input max |diff| ${inputDiff.toExponential(2)}, head relative error cls ` +
              `${clsErr.toExponential(2)}, reg ${regErr.toExponential(2)}`,
          );

          const anchors = concatLevelAnchors(model.anchors(out.featureSizes));
          const refAnchors = f.arrays['anchors']!.data;
          assert.equal(anchors.length, refAnchors.length);
          let anchorDiff = 0;
          for (let i = 0; i < anchors.length; i++)
            anchorDiff = Math.max(anchorDiff, Math.abs(anchors[i]! - refAnchors[i]!));
          assert.ok(anchorDiff <= ANCHOR_ATOL, `anchors differ by ${anchorDiff} px`);

          batchDetections(model, f, batch).forEach((got, i) =>
            assertDetectionsMatch(`batch image ${i}`, f.detections![i]!, got, worst),
          );
        } finally {
          batch.dispose();
        }

        // detect(): one raw image in, boxes in its own pixels (xywh), against PyTorch on that image alone.
        for (let i = 0; i < f.image_sizes.length; i++) {
          const got = model.detectSync(rawImage(f, i), ALL_DETECTIONS).map((d) => ({
            box: [d.bbox[0], d.bbox[1], d.bbox[0] + d.bbox[2], d.bbox[1] + d.bbox[3]] as [
              number,
              number,
              number,
              number,
            ],
            score: d.score,
            label: d.classIndex,
          }));
          assertDetectionsMatch(`detect() image ${i}`, f.detections_single![i]!, got, worst);
        }
        t.diagnostic(
          `${arch} ${backend}: detections min IoU ${worst.iou.toFixed(6)}, max score diff ${worst.score.toExponential(2)}`,
        );
        assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      } finally {
        model.dispose();
      }
    });
  }
}

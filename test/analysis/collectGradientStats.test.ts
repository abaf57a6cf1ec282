import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { collectGradientStats, type DetectorForStats } from '../../src/analysis/collectGradientStats.js';
import { computeGradientStats } from '../../src/analysis/gradientStats.js';
import { gradientStatsHook } from '../../src/analysis/gradientStatsHook.js';
import { readGradientStats } from '../../src/analysis/runFiles.js';
import { promises as fs } from 'node:fs';
import { tempDir } from './fixtures.js';
import type { ImageGroundTruth, ImageTargets } from '../../src/detector/targets.js';

/**
 * A stand-in detector with 2 levels (3 and 1 anchors per image), 2 classes: the logits of image b, anchor a,
 * class k are a literal table; targets put one positive per image (anchor 0 of image 0 class 1, anchor 3 of
 * image 1 class 0) and ignore anchor 2 of image 1.
 */
const LOGITS = [
  // image 0: level 0 (3 anchors), level 1 (1 anchor)
  [
    [
      [2, 1],
      [-3, -1],
      [0.5, -6],
    ],
    [[-2, 4]],
  ],
  // image 1
  [
    [
      [-5, -4],
      [1, -2],
      [3, 3],
    ],
    [[-0.5, -7]],
  ],
];
const DELTAS = [
  [
    [
      [0.1, 0, 0.02, -0.3],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    [[0, 0, 0, 0]],
  ],
  [
    [
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ],
    [[0.5, -0.01, 0.2, 0.004]],
  ],
];
function targetsOf(b: number): ImageTargets {
  const labels = new Float32Array(4 * 2);
  const labelWeights = new Float32Array([1, 1, 1, 1]);
  const bboxTargets = new Float32Array(16);
  const bboxWeights = new Float32Array(16);
  const pos = b === 0 ? 0 : 3;
  labels[pos * 2 + (b === 0 ? 1 : 0)] = 1;
  bboxWeights.fill(1, pos * 4, pos * 4 + 4);
  bboxTargets.set([0.05, 0.1, 0, -0.2], pos * 4);
  if (b === 1) labelWeights[2] = 0;
  return { labels, labelWeights, bboxTargets, bboxWeights, numPos: 1 };
}
const model: DetectorForStats = {
  forward(images) {
    assert.equal(images.shape[0], 2);
    return {
      clsLogits: [0, 1].map((l) => tf.tensor3d(LOGITS.map((img) => img[l]!))),
      bboxDeltas: [0, 1].map((l) => tf.tensor3d(DELTAS.map((img) => img[l]!))),
      featureSizes: [
        [1, 3],
        [1, 1],
      ],
    };
  },
  encodeTargets(_sizes, gts) {
    return gts.map((_, b) => targetsOf(b));
  },
};

test('collectGradientStats: pools levels and images in the targets order, positives only for regression', async () => {
  await setupBackend({ backend: 'cpu' });
  const images = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
  const gts: ImageGroundTruth[] = [0, 1].map(() => ({
    boxesXyxy: new Float32Array(0),
    labels: new Int32Array(0),
  }));
  const before = tf.memory().numTensors;
  const s = collectGradientStats(model, { images, gts }, { iteration: 3, ghmcBins: 10 });
  assert.equal(tf.memory().numTensors, before);
  images.dispose();

  const rows = [0, 1].flatMap((b) => [...LOGITS[b]![0]!, ...LOGITS[b]![1]!]);
  const t = [targetsOf(0), targetsOf(1)];
  const expected = computeGradientStats(
    {
      classification: {
        logits: rows,
        labels: [0, 1, 2, 3, 4, 5, 6, 7].map((a) =>
          Array.from(t[a >> 2]!.labels.subarray((a % 4) * 2, (a % 4) * 2 + 2)),
        ),
        labelWeights: [...t[0]!.labelWeights, ...t[1]!.labelWeights],
      },
      regression: {
        bboxPred: [DELTAS[0]![0]![0]!, DELTAS[1]![1]![0]!],
        bboxTargets: [
          [0.05, 0.1, 0, -0.2],
          [0.05, 0.1, 0, -0.2],
        ],
        bboxWeights: [
          [1, 1, 1, 1],
          [1, 1, 1, 1],
        ],
      },
    },
    { iteration: 3, ghmcBins: 10 },
  );
  assert.deepEqual(s, expected);
  assert.equal(s.classification!.numAnchors, 8);
  assert.equal(s.classification!.numValid, 14);
  assert.equal(s.classification!.numPositive, 2);
  assert.equal(s.regression!.numPositives, 2);
});

test('gradientStatsHook: writes statistics every K iterations only', async () => {
  await setupBackend({ backend: 'cpu' });
  const dir = await tempDir('hook');
  const images = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
  const gts: ImageGroundTruth[] = [0, 1].map(() => ({
    boxesXyxy: new Float32Array(0),
    labels: new Int32Array(0),
  }));
  try {
    let calls = 0;
    const hook = gradientStatsHook({
      model,
      runDir: dir,
      every: 2,
      batch: () => {
        calls++;
        return { images, gts };
      },
      stats: { fineBins: 10 },
    });
    assert.equal(await hook({ iter: 1 }), null);
    assert.match((await hook({ iter: 2 }))!, /grad_stats_iter_000002\.json$/);
    assert.equal(await hook({ iter: 3 }), null);
    await hook({ iter: 4 });
    assert.equal(calls, 2);
    const stats = await readGradientStats(dir);
    assert.deepEqual(
      stats.map((s) => [s.iteration, s.classification!.fine.bins]),
      [
        [2, 10],
        [4, 10],
      ],
    );
    assert.throws(
      () => gradientStatsHook({ model, runDir: dir, every: 0, batch: () => ({ images, gts }) }),
      /every must be an integer >= 1, got 0/,
    );
  } finally {
    images.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

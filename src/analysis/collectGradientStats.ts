/**
 * Gradient statistics of a detector on a batch: forward pass, the training assigner's targets, and the
 * classification / regression inputs of gradientStats.ts in the layout the losses see them.
 *
 * All FPN levels and all images of the batch are pooled into one set of examples (the paper's figures count
 * every (anchor, class) pair of the batch; the reference losses bin per level, spec 2.3). Only the positives'
 * four deltas enter the regression statistics, as in GHM-R.
 *
 * The trainer calls `collectGradientStats` every K iterations and writes the result with
 * `writeGradientStats(runDir, stats)` (runFiles.ts); `ghmdet analyze` pools several batches with
 * `addDetectorBatch` and a {@link GradientStatsAccumulator}.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageGroundTruth, ImageTargets } from '../detector/targets.js';
import {
  GradientStatsAccumulator,
  type GradientStats,
  type GradientStatsInputs,
  type GradientStatsOptions,
} from './gradientStats.js';

/** What the statistics need of a detector (RetinaNet has it). */
export interface DetectorForStats {
  /**
   * `clsLogits[l]: [B, A_l, K]`, `bboxDeltas[l]: [B, A_l, 4]` per level, anchor order (y, x, anchor) inside a
   * level, levels in order; `featureSizes[l] = [H_l, W_l]`.
   */
  forward(
    images: tf.Tensor4D,
    training: boolean,
  ): { clsLogits: tf.Tensor3D[]; bboxDeltas: tf.Tensor3D[]; featureSizes: [number, number][] };
  /** Targets per image in the same anchor order (all levels concatenated). */
  encodeTargets(featureSizes: [number, number][], gts: ImageGroundTruth[]): ImageTargets[];
}

/** A batch as the trainer's data source gives it. */
export interface DetectorStatsBatch {
  /** `[B, H, W, 3]` normalised, padded network inputs. */
  images: tf.Tensor4D;
  /** One entry per image, boxes xyxy in network-input pixels. */
  gts: ImageGroundTruth[];
}

export interface CollectOptions extends GradientStatsOptions {
  /** Run BatchNorm in training mode (batch statistics; also updates running statistics). Default false. */
  training?: boolean;
}

/** Concatenates per-image typed arrays into one. */
function concatArrays(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Runs the detector on the batch and adds its examples to `acc`. No gradient is computed; every tensor made
 * here is released.
 */
export function addDetectorBatch(
  acc: GradientStatsAccumulator,
  model: DetectorForStats,
  batch: DetectorStatsBatch,
  training = false,
): void {
  const out = model.forward(batch.images, training);
  try {
    const targets = model.encodeTargets(out.featureSizes, batch.gts);
    const b = batch.images.shape[0];
    const k = out.clsLogits[0]!.shape[2];
    // [B, A, K] -> [B*A, K]: rows image-major, then levels, then (y, x, anchor), like the targets
    const logits = tf.tidy(() => tf.reshape(tf.concat(out.clsLogits, 1), [-1, k]));
    const deltas = tf.tidy(() => tf.reshape(tf.concat(out.bboxDeltas, 1), [-1, 4]));
    const numAnchors = logits.shape[0]! / b;
    const bboxWeights = concatArrays(targets.map((t) => t.bboxWeights));
    const positives: number[] = [];
    for (let a = 0; a < bboxWeights.length / 4; a++) if (bboxWeights[4 * a]! > 0) positives.push(a);
    const bboxTargets = concatArrays(targets.map((t) => t.bboxTargets));
    const inputs: GradientStatsInputs = {
      classification: {
        logits,
        labels: tf.tensor2d(concatArrays(targets.map((t) => t.labels)), [b * numAnchors, k]),
        labelWeights: tf.tensor1d(concatArrays(targets.map((t) => t.labelWeights))),
      },
      regression: {
        bboxPred: tf.tidy(() => tf.gather(deltas, tf.tensor1d(positives, 'int32'))),
        bboxTargets: tf.tensor2d(
          positives.flatMap((a) => Array.from(bboxTargets.subarray(4 * a, 4 * a + 4))),
          [positives.length, 4],
        ),
        bboxWeights: tf.tensor2d(
          positives.flatMap((a) => Array.from(bboxWeights.subarray(4 * a, 4 * a + 4))),
          [positives.length, 4],
        ),
      },
    };
    try {
      acc.add(inputs);
    } finally {
      const c = inputs.classification!;
      const r = inputs.regression!;
      tf.dispose([deltas, c.labels as tf.Tensor, c.labelWeights as tf.Tensor, logits]);
      tf.dispose([r.bboxPred as tf.Tensor, r.bboxTargets as tf.Tensor, r.bboxWeights as tf.Tensor]);
    }
  } finally {
    tf.dispose([...out.clsLogits, ...out.bboxDeltas]);
  }
}

/**
 * Gradient statistics of the detector on one batch (BatchNorm in inference mode unless `training`), for a
 * trainer hook: `writeGradientStats(runDir, collectGradientStats(model, batch, { iteration }))`.
 */
export function collectGradientStats(
  model: DetectorForStats,
  batch: DetectorStatsBatch,
  options: CollectOptions = {},
): GradientStats {
  const { training, ...statsOptions } = options;
  const acc = new GradientStatsAccumulator(statsOptions);
  addDetectorBatch(acc, model, batch, training ?? false);
  return acc.result();
}

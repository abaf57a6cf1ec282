/**
 * The detector's training batches as a trainer `BatchSource`: a thin adapter over the data loader
 * (`DetectionLoader`, src/data/loader.ts), which owns the shuffling, flips, resize, normalisation, padding and
 * the exact resumable state. This file only turns a loader batch into tensors and ground truth in the
 * detector's terms, and configures the loader from the model's `preprocess` settings for training.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DetectionDataset } from '../data/dataset.js';
import { DetectionLoader, type LoaderState } from '../data/loader.js';
import type { PreprocessConfig } from '../detector/config.js';
import type { ImageGroundTruth } from '../detector/targets.js';
import type { DetectorBatch } from './detectorTrainable.js';
import type { BatchSource, JsonValue, SourcedBatch } from './trainable.js';

export interface DetectorBatchesOptions {
  /** Images per batch. */
  batchSize: number;
  /** Probability of a horizontal flip. Default 0.5. */
  flipRatio?: number;
  /** Seed of the shuffling and the flips. Default 0. */
  seed?: number;
  /** Resize, normalisation and padding (the model's `preprocess`). */
  preprocess: PreprocessConfig;
}

/**
 * The training loader for `dataset`: shuffled, flipped with `flipRatio`, resized with keep ratio to
 * `img_scale`, padded to `size_divisor`, full batches only (every step sees `batchSize` images, so GHM's
 * statistics are comparable between steps) and images without annotations left out (mmdetection's
 * `filter_empty_gt`).
 */
export function trainingLoader(dataset: DetectionDataset, options: DetectorBatchesOptions): DetectionLoader {
  const p = options.preprocess;
  if (!p.keep_ratio)
    throw new Error(
      'trainingLoader: preprocess.keep_ratio false is not supported by the data loader; set it to true',
    );
  if (p.to_rgb === false)
    throw new Error(
      'trainingLoader: preprocess.to_rgb false (BGR network input) is not supported by the data loader; ' +
        'fine-tune a BGR (Caffe-style) model elsewhere, or use an RGB one',
    );
  return new DetectionLoader(dataset, {
    batchSize: options.batchSize,
    shuffle: true,
    seed: options.seed ?? 0,
    flipProb: options.flipRatio ?? 0.5,
    resizeScale: [p.img_scale[0], p.img_scale[1]],
    mean: p.mean,
    std: p.std,
    sizeDivisor: p.size_divisor,
    dropLast: true,
    filterEmpty: true,
  });
}

export class DetectorBatches implements BatchSource<DetectorBatch> {
  readonly batchesPerEpoch: number;

  constructor(readonly loader: DetectionLoader) {
    this.batchesPerEpoch = loader.batchesPerEpoch;
  }

  /** Training batches of `dataset` through {@link trainingLoader}. */
  static forTraining(dataset: DetectionDataset, options: DetectorBatchesOptions): DetectorBatches {
    return new DetectorBatches(trainingLoader(dataset, options));
  }

  async next(): Promise<SourcedBatch<DetectorBatch>> {
    const b = await this.loader.next();
    const images = tf.tensor4d(b.images, b.shape);
    // Boxes the loader marks to ignore (COCO crowd, VOC difficult) are the assigner's crowd boxes.
    const gts: ImageGroundTruth[] = b.gtBoxes.map((boxes, i) => ({
      boxesXyxy: boxes,
      labels: b.gtLabels[i]!,
      crowd: b.gtIgnore[i]!,
    }));
    return { data: { images, gts }, images: b.shape[0], epoch: b.epoch, dispose: () => images.dispose() };
  }

  getState(): JsonValue {
    return { ...this.loader.state() };
  }

  setState(state: JsonValue): void {
    this.loader.restore(state as unknown as LoaderState);
  }
}

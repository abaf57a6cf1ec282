/**
 * The anchor balance (anchorBalance.ts) of a config's dataset: every image of a split through the training
 * loader without flips, one at a time, and the detector's own `encodeTargets`. Node only (the loader decodes
 * image files).
 *
 * The feature-map sizes come from one forward pass of the config's network per distinct padded input size (on
 * zeros, BatchNorm in inference mode), so the anchors are exactly those training uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GhmdetConfig } from '../config.js';
import type { DetectionDataset } from '../data/dataset.js';
import { anchorsPerLocation } from '../detector/anchors.js';
import type { RetinaNet } from '../detector/retinaNet.js';
import { DetectorBatches } from '../train/detectorBatches.js';
import { AnchorBalanceAccumulator, type AnchorBalance } from './anchorBalance.js';

/** Feature-map sizes of `model` for inputs of `height` x `width` (one forward pass on zeros). */
export function featureSizesFor(model: RetinaNet, height: number, width: number): [number, number][] {
  const input = tf.zeros([1, height, width, 3]) as tf.Tensor4D;
  try {
    const out = model.forward(input, false);
    tf.dispose([...out.clsLogits, ...out.bboxDeltas]);
    return out.featureSizes;
  } finally {
    input.dispose();
  }
}

/**
 * Counts the assignments of every image of `dataset` as the training loader gives it (resize, padding, images
 * without boxes left out; no flips).
 */
export async function measureAnchorBalance(
  model: RetinaNet,
  config: GhmdetConfig,
  dataset: DetectionDataset,
): Promise<AnchorBalance> {
  const gen = model.config.head.anchor_generator;
  const perLocation = anchorsPerLocation(gen);
  const acc = new AnchorBalanceAccumulator(model.config.numClasses, gen.strides);
  const source = DetectorBatches.forTraining(dataset, {
    batchSize: 1,
    flipRatio: 0,
    seed: 0,
    preprocess: config.model.preprocess,
  });
  const sizes = new Map<string, [number, number][]>();
  for (let i = 0; i < source.batchesPerEpoch; i++) {
    const batch = await source.next();
    try {
      const [, h, w] = batch.data.images.shape;
      const key = `${h}x${w}`;
      let fs = sizes.get(key);
      if (fs === undefined) {
        fs = featureSizesFor(model, h, w);
        sizes.set(key, fs);
      }
      const gt = batch.data.gts[0]!;
      const targets = model.encodeTargets(fs, [gt])[0]!;
      acc.add(
        targets,
        fs.map(([fh, fw]) => fh * fw * perLocation),
        gt.labels.length,
      );
    } finally {
      batch.dispose();
    }
  }
  return acc.result();
}

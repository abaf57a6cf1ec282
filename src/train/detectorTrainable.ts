/**
 * The `Trainable` view of a `RetinaNet`: its named trainable variables, its BatchNorm running statistics as
 * checkpointed buffers, `computeLoss` as the loss and the GHM EMA states of both losses as the extra state.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { LossStates, RetinaNet } from '../detector/retinaNet.js';
import type { ImageGroundTruth } from '../detector/targets.js';
import type { JsonValue, LossOutput, Trainable } from './trainable.js';

/** One training batch of the detector. */
export interface DetectorBatch {
  /** `[B, H, W, 3]` normalised and padded network inputs (H, W multiples of the largest stride). */
  images: tf.Tensor4D;
  /** One entry per image: boxes xyxy in network-input pixels, class indices in [0, numClasses). */
  gts: ImageGroundTruth[];
}

export function detectorTrainable(model: RetinaNet): Trainable<DetectorBatch> {
  return {
    variables: model.namedTrainableVariables(),
    buffers: model.namedBuffers(),
    lossFn(batch: DetectorBatch): LossOutput {
      const r = model.computeLoss(batch.images, batch.gts);
      return { loss: r.loss, terms: { loss_cls: r.terms.loss_cls, loss_bbox: r.terms.loss_bbox } };
    },
    getState(): JsonValue {
      // Loss states are plain JSON (GHM: {bins, momentum, accSum: number[]}; stateless losses: null).
      return model.getLossStates() as unknown as JsonValue;
    },
    setState(state: JsonValue): void {
      model.setLossStates(state as unknown as LossStates);
    },
  };
}

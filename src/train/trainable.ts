/**
 * What the trainer needs from a model: its trainable variables under stable names, a differentiable loss
 * on one batch, and any extra state that a checkpoint must carry (GHM-C/GHM-R keep an EMA of the gradient
 * density, `accSum`, that changes every iteration and is not a variable).
 *
 * The detector satisfies this through a small adapter (`src/train/detectorTrainable.ts`); tests use toy
 * models. The trainer never looks inside a batch: `B` is whatever `lossFn` understands.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** A JSON value: what extra model state and data-loader state are serialised as in a checkpoint. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A trainable variable and the name it is saved under (unique within one model, stable across runs). */
export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
}

/**
 * The loss of one batch. `loss` is the scalar that is differentiated (the sum of the terms, usually);
 * `terms` are its parts, reported in the log under their own names (mmdetection's `loss_cls`, `loss_bbox`).
 */
export interface LossOutput {
  loss: tf.Scalar;
  terms: Record<string, tf.Scalar>;
}

export interface Trainable<B> {
  /** Variables the optimizer updates, in a fixed order; names are the checkpoint keys. */
  readonly variables: readonly NamedVariable[];
  /**
   * Non-trainable tensors that change during training and must be checkpointed with the weights (PyTorch's
   * "buffers": BatchNorm running mean and variance). Names must not collide with `variables`. Default none.
   */
  readonly buffers?: readonly NamedVariable[];
  /**
   * The loss of `batch`, called inside the gradient tape. Side effects such as GHM's EMA update are
   * allowed (they happen exactly once per call) but must not depend on anything except the batch and the state.
   */
  lossFn(batch: B): LossOutput;
  /** Extra state that must survive a resume (GHM EMA states); `null` when there is none. */
  getState(): JsonValue;
  setState(state: JsonValue): void;
}

/** One batch handed to the trainer by a `BatchSource`. */
export interface SourcedBatch<B> {
  data: B;
  /** Number of images in the batch (for images/s). */
  images: number;
  /** Epoch (0-based) the batch belongs to. */
  epoch: number;
  /** Frees the batch's tensors; the trainer calls it once, after the step. */
  dispose(): void;
}

/** An endless, resumable sequence of batches (epochs follow each other). */
export interface BatchSource<B> {
  next(): Promise<SourcedBatch<B>> | SourcedBatch<B>;
  /** Position and random state; `setState(getState())` on a fresh source continues the same sequence. */
  getState(): JsonValue;
  setState(state: JsonValue): void;
  /** Batches per epoch, when known (turns epoch-based schedules into iterations). */
  readonly batchesPerEpoch?: number;
}

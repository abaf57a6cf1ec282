/**
 * The contract between the detector head and the losses (`src/losses`, factory `buildLoss(cfg)` in mmdetection
 * vocabulary, the default). Stated here as a type so the head says exactly what it relies on, and so tests or
 * users can pass another factory.
 *
 * Classification: `pred [N, K]` logits, `target [N, K]` one-hot {0, 1}, `weight [N, K]` (0 = ignored anchor).
 * Regression: `pred [N, 4]` deltas, `target [N, 4]` encoded deltas, `weight [N, 4]` (1 on positives' coordinates).
 * `avgFactor = max(1, #positive anchors of the batch)`; GHM losses ignore it (they normalise by their own `tot`).
 * A loss may keep state across calls (GHM's EMA `acc_sum`), saved and restored with `getState`/`setState`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { LossConfig } from './config.js';

export interface DetectorLoss {
  /** The config `type`, e.g. 'GHMC'. */
  readonly type: string;
  /** @returns a scalar loss, already multiplied by the config's `loss_weight`. */
  call(pred: tf.Tensor2D, target: tf.Tensor2D, weight: tf.Tensor2D, opts: { avgFactor: number }): tf.Scalar;
  /** A JSON-serialisable snapshot of the loss state (null for stateless losses). */
  getState(): unknown;
  setState(state: unknown): void;
}

/** Builds a loss from its config (`{ type: 'GHMC', bins: 30, momentum: 0.75, loss_weight: 1 }`). */
export type LossBuilder = (cfg: LossConfig) => DetectorLoss;

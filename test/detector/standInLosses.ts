/**
 * Minimal losses with the detector's loss contract, for tests that need a loss without depending on the loss
 * module: sigmoid BCE and L1, both `sum(weight * elementwise) / avgFactor` times `loss_weight`.
 */
import * as tf from '@tensorflow/tfjs';
import type { DetectorLoss } from '../../src/detector/lossContract.js';
import type { LossConfig } from '../../src/detector/config.js';

export function buildStandInLoss(cfg: LossConfig): DetectorLoss {
  const w = cfg.loss_weight ?? 1;
  const isCls = ['CrossEntropyLoss', 'OHEMLoss', 'FocalLoss', 'GHMC'].includes(cfg.type);
  let calls = 0;
  return {
    type: cfg.type,
    call(pred, target, weight, { avgFactor }) {
      calls++;
      return tf.tidy(() => {
        const el = isCls
          ? // max(x, 0) - x * z + log(1 + exp(-|x|)): BCE with logits.
            tf.add(tf.sub(tf.relu(pred), tf.mul(pred, target)), tf.log1p(tf.exp(tf.neg(tf.abs(pred)))))
          : tf.abs(tf.sub(pred, target));
        return tf.mul(tf.div(tf.sum(tf.mul(el, weight)), avgFactor), w) as tf.Scalar;
      });
    },
    getState: () => ({ calls }),
    setState: (s) => {
      calls = (s as { calls: number }).calls;
    },
  };
}

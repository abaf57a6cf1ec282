/**
 * The losses on fixed inputs, with their gradients, on whatever backend is current: the same computation in
 * Node (test/losses/backendParity.test.ts, cpu and wasm) and in Chromium (lossProbe.html: wasm and webgl), so
 * the results can be compared across backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { GHMC, GHMR, bceWithLogitsLoss, sigmoidFocalLoss } from 'ghmdet/losses';

/** Deterministic pseudo-random values (a 32-bit LCG), the same on every platform. */
function values(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** Named results (loss values, gradients, GHM bin counts), each a plain number array. */
export type ProbeResult = Record<string, number[]>;

export function runLossProbe(): ProbeResult {
  const N = 96;
  const C = 3;
  const out: ProbeResult = {};
  tf.tidy(() => {
    const logits = tf.tensor2d(values(N * C, 1, 6), [N, C]);
    const target = tf.tensor2d(
      values(N * C, 2, 1).map((v) => (v > 0.8 ? 1 : 0)),
      [N, C],
    );
    const weight = tf.tensor2d(
      values(N * C, 3, 1).map((v) => (v > -0.9 ? 1 : 0)),
      [N, C],
    );
    const ghmc = new GHMC({ bins: 10, momentum: 0.75 });
    ghmc.call(logits, target, weight); // a first call, so the second one uses the EMA
    const c = tf.valueAndGrad((x: tf.Tensor) => ghmc.call(x, target, weight) as tf.Scalar)(logits);
    out['ghmc.loss'] = Array.from(c.value.dataSync());
    out['ghmc.grad'] = Array.from(c.grad.dataSync());
    out['ghmc.binCounts'] = ghmc.lastStats()!.binCounts;
    out['ghmc.accSum'] = ghmc.getState().accSum;

    const pred = tf.tensor2d(values(N * 4, 4, 2), [N, 4]);
    const boxes = tf.tensor2d(values(N * 4, 5, 2), [N, 4]);
    const boxWeight = tf.tensor2d(
      values(N * 4, 6, 1).map((v) => (v > 0 ? 1 : 0)),
      [N, 4],
    );
    const ghmr = new GHMR({ mu: 0.02, bins: 10, momentum: 0 });
    const r = tf.valueAndGrad((x: tf.Tensor) => ghmr.call(x, boxes, boxWeight) as tf.Scalar)(pred);
    out['ghmr.loss'] = Array.from(r.value.dataSync());
    out['ghmr.grad'] = Array.from(r.grad.dataSync());
    out['ghmr.binCounts'] = ghmr.lastStats()!.binCounts;

    const f = tf.valueAndGrad(
      (x: tf.Tensor) =>
        sigmoidFocalLoss(x, target, weight, { gamma: 2, alpha: 0.25, avgFactor: 7 }) as tf.Scalar,
    )(logits);
    out['focal.loss'] = Array.from(f.value.dataSync());
    out['focal.grad'] = Array.from(f.grad.dataSync());
    const b = tf.valueAndGrad((x: tf.Tensor) => bceWithLogitsLoss(x, target, weight) as tf.Scalar)(logits);
    out['bce.loss'] = Array.from(b.value.dataSync());
    out['bce.grad'] = Array.from(b.grad.dataSync());
  });
  return out;
}

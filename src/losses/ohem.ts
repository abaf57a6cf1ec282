/**
 * Online hard example mining for dense sigmoid classification (SSD-style, per anchor), on BCE with logits.
 *
 * What it selects (per call, over all rows of `pred [N, C]`, i.e. all anchors of the batch):
 *  - positive anchors: rows with at least one target 1 on a valid entry (weight > 0); all are kept;
 *  - negative candidates: the other rows with at least one valid entry; their hardness is the row's loss
 *    `sum_c weight * BCE(pred, target)`;
 *  - k = min(#candidates, negPosRatio * #positives) hardest negatives, or min(#candidates, minNeg) when the batch
 *    has no positive; ties go to the lower row index.
 * The selection is computed outside the gradient (one read-back of the row losses); the loss is then
 * `sum over selected rows and classes of weight * BCE`, normalised as the contract says: with `avgFactor`
 * (the detector passes max(1, #positive anchors)) `sum / avgFactor`; 'mean' without it divides by the number of
 * selected rows (at least 1); 'sum' gives the sum; 'none' gives `[N, C]` with unselected rows 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bceWithLogitsElementwise } from './bce.js';
import { checkReduceOptions, stableSum, type ReduceOptions } from './reduce.js';
import {
  binaryCheck,
  nonNegativeCheck,
  expectShape,
  expectTensor,
  finiteChecks,
  runChecks,
} from './checks.js';

const LOSS = 'ohemLoss';

/** Options of {@link ohemLoss}. */
export interface OHEMOptions extends ReduceOptions {
  /** Hard negatives kept per positive anchor, >= 0; default 3. */
  negPosRatio?: number;
  /** Negatives kept when the batch has no positive anchor, integer >= 0; default 100. */
  minNeg?: number;
}

/** Which rows OHEM keeps: 1 for kept rows, 0 otherwise, and the counts. */
export interface OHEMSelection {
  mask: Float32Array;
  numPos: number;
  numNeg: number;
}

/**
 * The selection (host side) from per-row losses and kinds.
 * @param rowLoss `[N]` hardness of each row. @param kind `[N]`: 1 positive, 0 negative candidate, -1 ignored row.
 */
export function selectHardRows(
  rowLoss: ArrayLike<number>,
  kind: ArrayLike<number>,
  negPosRatio: number,
  minNeg: number,
): OHEMSelection {
  const n = rowLoss.length;
  const mask = new Float32Array(n);
  const candidates: number[] = [];
  let numPos = 0;
  for (let i = 0; i < n; i++) {
    if (kind[i]! > 0) {
      mask[i] = 1;
      numPos++;
    } else if (kind[i] === 0) candidates.push(i);
  }
  const wanted = numPos > 0 ? Math.floor(negPosRatio * numPos) : minNeg;
  const k = Math.min(candidates.length, wanted);
  candidates.sort((a, b) => rowLoss[b]! - rowLoss[a]! || a - b);
  for (let j = 0; j < k; j++) mask[candidates[j]!] = 1;
  return { mask, numPos, numNeg: k };
}

/**
 * @param pred logits `[N, C]`, float32. @param target one-hot `[N, C]` 0/1. @param weight optional `[N, C]`, >= 0
 *   (0 = ignored entry). @param options negPosRatio (3), minNeg (100), reduction ('mean'), avgFactor, validate.
 */
export function ohemLoss(
  pred: tf.Tensor,
  target: tf.Tensor,
  weight?: tf.Tensor,
  options: OHEMOptions = {},
): tf.Tensor {
  expectTensor(LOSS, 'pred', pred);
  expectTensor(LOSS, 'target', target);
  if (pred.rank !== 2)
    throw new Error(`${LOSS}: \`pred\` has shape [${pred.shape.join(', ')}], expected [N, C]`);
  expectShape(LOSS, 'target', target, pred.shape, 'one-hot like `pred`');
  if (weight !== undefined) {
    expectTensor(LOSS, 'weight', weight);
    expectShape(LOSS, 'weight', weight, pred.shape, 'the shape of `pred`');
  }
  const negPosRatio = options.negPosRatio ?? 3;
  const minNeg = options.minNeg ?? 100;
  if (typeof negPosRatio !== 'number' || !Number.isFinite(negPosRatio) || negPosRatio < 0) {
    throw new Error(`${LOSS}: \`negPosRatio\` must be a finite number >= 0, got ${String(negPosRatio)}`);
  }
  if (!Number.isInteger(minNeg) || minNeg < 0) {
    throw new Error(`${LOSS}: \`minNeg\` must be an integer >= 0, got ${String(minNeg)}`);
  }
  const reduction = checkReduceOptions(LOSS, options);
  if (options.validate ?? true) {
    runChecks(LOSS, () => [
      ...finiteChecks({ pred, weight }),
      binaryCheck('target', target),
      ...(weight === undefined ? [] : [nonNegativeCheck('weight', weight)]),
    ]);
  }
  const [n] = pred.shape as [number, number];
  // Selection, outside the gradient: row losses and kinds, one read-back.
  const rows = tf.tidy(() => {
    const x = tf.cast(pred, 'float32');
    const t = tf.cast(target, 'float32');
    const valid = weight === undefined ? tf.onesLike(x) : tf.cast(tf.greater(weight, 0), 'float32');
    const elem = bceWithLogitsElementwise(x, t);
    const rowLoss = tf.sum(weight === undefined ? elem : tf.mul(elem, weight), 1);
    const isPos = tf.greater(tf.max(tf.mul(t, valid), 1), 0);
    const hasValid = tf.greater(tf.max(valid, 1), 0);
    const kind = tf.where(
      isPos,
      tf.onesLike(rowLoss),
      tf.where(hasValid, tf.zerosLike(rowLoss), tf.fill([n], -1)),
    );
    return tf.concat([rowLoss, kind]);
  });
  const values = rows.dataSync();
  rows.dispose();
  const sel = selectHardRows(values.slice(0, n), values.slice(n), negPosRatio, minNeg);
  const numSelected = sel.numPos + sel.numNeg;
  return tf.tidy(() => {
    const mask = tf.tensor2d(sel.mask, [n, 1]);
    const t = tf.cast(target, 'float32');
    let loss = tf.mul(bceWithLogitsElementwise(pred, t), mask);
    if (weight !== undefined) loss = tf.mul(loss, tf.cast(weight, 'float32'));
    if (reduction === 'none') return loss;
    if (reduction === 'sum') return stableSum(loss);
    return tf.div(stableSum(loss), options.avgFactor ?? Math.max(numSelected, 1));
  });
}

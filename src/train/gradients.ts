/**
 * Gradients of one batch on this process's backend: `tf.variableGrads` over the model's loss. The
 * trainer takes any `GradientFn`, so a data-parallel engine can supply averaged gradients instead.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SourcedBatch, Trainable } from './trainable.js';

export interface StepGradients {
  /** One gradient per `model.variables` entry, same order and shapes; the trainer disposes them. */
  grads: tf.Tensor[];
  /** The differentiated loss, read back. */
  loss: number;
  /** The loss terms, read back. */
  terms: Record<string, number>;
}

export type GradientFn<B> = (batch: SourcedBatch<B>) => Promise<StepGradients> | StepGradients;

/** Gradients of `model.lossFn` on each batch, computed here. Leaves no tensors behind except `grads`. */
export function localGradients<B>(model: Trainable<B>): GradientFn<B> {
  return (batch) => {
    const vars = model.variables.map((v) => v.variable);
    let kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = model.lossFn(batch.data);
      // The terms are created inside the tape's tidy; keep them past it to read them back.
      kept = {};
      for (const [k, t] of Object.entries(out.terms)) kept[k] = tf.keep(t);
      return out.loss;
    }, vars);
    const names = Object.keys(kept);
    const packed = tf.tidy(() => tf.stack([value, ...names.map((k) => kept[k]!)]));
    const read = packed.dataSync();
    const terms: Record<string, number> = {};
    names.forEach((k, i) => (terms[k] = read[i + 1]!));
    const loss = read[0]!;
    packed.dispose();
    tf.dispose([value, ...Object.values(kept)]);
    // A variable the loss does not reach gets no entry from variableGrads: its gradient is zero.
    const ordered = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    return { grads: ordered, loss, terms };
  };
}

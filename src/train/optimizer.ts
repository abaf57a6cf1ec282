/**
 * SGD with momentum and weight decay, written on tf ops so its state (one momentum buffer per variable)
 * is explicit and checkpointable.
 *
 * Semantics are PyTorch's `torch.optim.SGD(lr, momentum, weight_decay, dampening=0, nesterov=False)`, which
 * mmdetection uses (`optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)`):
 *   g   <- g * clipCoef                 (gradient clipping, applied by the caller's coefficient)
 *   d   <- g + weightDecay * p          (L2 decay folded into the gradient, before momentum)
 *   buf <- momentum * buf + d           (buffers start at 0, so the first step gives buf = d as in PyTorch)
 *   p   <- p - lr * buf
 *
 * Weight decay on norms and biases: mmdetection's RetinaNet configs decay every parameter (no
 * `paramwise_cfg`), so `decayNormAndBias` defaults to true. With false, variables of rank <= 1 (biases,
 * BatchNorm/GroupNorm gamma and beta) get no decay, the common modern choice.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedVariable } from './trainable.js';

export interface SgdOptions {
  /** Momentum factor in [0, 1). Default 0.9. */
  momentum?: number;
  /** L2 weight decay (>= 0). Default 1e-4. */
  weightDecay?: number;
  /** Whether rank <= 1 variables (biases, norm parameters) are decayed too. Default true (mmdetection). */
  decayNormAndBias?: boolean;
}

/** A saved momentum buffer: the variable's name, its shape and its float32 values. */
export interface MomentumBuffer {
  name: string;
  shape: number[];
  values: Float32Array;
}

export class SgdMomentum {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly decayNormAndBias: boolean;
  private readonly vars: readonly NamedVariable[];
  private readonly buffers: tf.Variable[];

  constructor(variables: readonly NamedVariable[], options: SgdOptions = {}) {
    const { momentum = 0.9, weightDecay = 1e-4, decayNormAndBias = true } = options;
    if (!(momentum >= 0 && momentum < 1))
      throw new Error(`SgdMomentum: momentum must be in [0, 1), got ${momentum}`);
    if (!(weightDecay >= 0)) throw new Error(`SgdMomentum: weightDecay must be >= 0, got ${weightDecay}`);
    const seen = new Set<string>();
    for (const v of variables) {
      if (seen.has(v.name))
        throw new Error(`SgdMomentum: variable name ${JSON.stringify(v.name)} appears twice`);
      seen.add(v.name);
    }
    this.momentum = momentum;
    this.weightDecay = weightDecay;
    this.decayNormAndBias = decayNormAndBias;
    this.vars = variables;
    // tidy: the zeros tensor would outlive the buffer (a variable holds its own reference to the data).
    this.buffers = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v.variable), false)));
  }

  /** The decay applied to one variable: `weightDecay`, or 0 for rank <= 1 when `decayNormAndBias` is false. */
  decayOf(index: number): number {
    const v = this.vars[index]!.variable;
    return !this.decayNormAndBias && v.rank <= 1 ? 0 : this.weightDecay;
  }

  /**
   * One update. `grads[i]` is the gradient of `variables[i]` (same shape); `clipCoef` multiplies every
   * gradient first (1 = no clipping). Creates no lasting tensors; `grads` are not disposed.
   */
  step(grads: readonly tf.Tensor[], lr: number, clipCoef = 1): void {
    if (grads.length !== this.vars.length)
      throw new Error(
        `SgdMomentum.step: got ${grads.length} gradients, expected ${this.vars.length} (one per variable)`,
      );
    if (!Number.isFinite(lr) || lr < 0)
      throw new Error(`SgdMomentum.step: lr must be finite and >= 0, got ${lr}`);
    tf.tidy(() => {
      const lrT = tf.scalar(lr);
      const momT = tf.scalar(this.momentum);
      const coefT = clipCoef === 1 ? null : tf.scalar(clipCoef);
      for (let i = 0; i < this.vars.length; i++) {
        const p = this.vars[i]!.variable;
        let g = grads[i]!;
        if (g.size !== p.size)
          throw new Error(
            `SgdMomentum.step: gradient ${i} (${this.vars[i]!.name}) has shape [${g.shape}], expected [${p.shape}]`,
          );
        if (coefT !== null) g = tf.mul(g, coefT);
        const wd = this.decayOf(i);
        const d = wd === 0 ? g : tf.add(g, tf.mul(p, tf.scalar(wd)));
        const buf = this.buffers[i]!;
        const nextBuf = tf.add(tf.mul(buf, momT), d);
        buf.assign(nextBuf);
        p.assign(tf.sub(p, tf.mul(nextBuf, lrT)));
      }
    });
  }

  /** Copies of the momentum buffers, for a checkpoint. */
  getState(): MomentumBuffer[] {
    return this.buffers.map((b, i) => ({
      name: this.vars[i]!.name,
      shape: [...b.shape],
      values: (b.dataSync() as Float32Array).slice(),
    }));
  }

  /** Restores buffers saved by `getState`; names and shapes must match the variables exactly. */
  setState(state: readonly MomentumBuffer[]): void {
    if (state.length !== this.vars.length)
      throw new Error(`SgdMomentum.setState: got ${state.length} buffers, expected ${this.vars.length}`);
    for (let i = 0; i < state.length; i++) {
      const s = state[i]!;
      const v = this.vars[i]!;
      const b = this.buffers[i]!;
      if (s.name !== v.name || s.shape.join(',') !== b.shape.join(','))
        throw new Error(
          `SgdMomentum.setState: buffer ${i} is ${s.name} [${s.shape}], expected ${v.name} [${b.shape}]; ` +
            'was the checkpoint written for another model configuration?',
        );
      tf.tidy(() => b.assign(tf.tensor(s.values, b.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const b of this.buffers) b.dispose();
  }
}

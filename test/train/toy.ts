/**
 * A toy Trainable for the trainer's tests: a linear regressor `y = x W + b` (W [D, 1], b [1]) on seeded
 * random batches, with an extra state (an EMA of the targets' mean, like GHM's `accSum`) that scales the loss,
 * so a resume that forgets the state changes the weights.
 */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../../src/utils/random.js';
import type {
  BatchSource,
  JsonValue,
  NamedVariable,
  SourcedBatch,
  Trainable,
} from '../../src/train/trainable.js';

export interface ToyBatch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
  yMean: number;
}

let modelCount = 0;

export class ToyModel implements Trainable<ToyBatch> {
  readonly variables: NamedVariable[];
  /** A BatchNorm-like running mean of the inputs, updated by every `lossFn` call. */
  readonly buffers: NamedVariable[];
  ema = 0;
  /** When set, `lossFn` returns NaN at this call (counting from 1). */
  nanAtCall: number | null = null;
  private calls = 0;

  constructor(seed: number, dim = 4) {
    const r = new Random(seed);
    const w = Array.from({ length: dim }, () => r.normal(0, 0.1));
    const id = modelCount++;
    this.variables = [
      { name: 'linear.weight', variable: tf.variable(tf.tensor2d(w, [dim, 1]), true, `toy${id}.w`) },
      { name: 'linear.bias', variable: tf.variable(tf.zeros([1]), true, `toy${id}.b`) },
    ];
    this.buffers = [
      { name: 'norm.running_mean', variable: tf.variable(tf.zeros([dim]), false, `toy${id}.rm`) },
    ];
  }

  lossFn(batch: ToyBatch): { loss: tf.Scalar; terms: Record<string, tf.Scalar> } {
    this.calls++;
    this.ema = 0.75 * this.ema + 0.25 * batch.yMean;
    const rm = this.buffers[0]!.variable;
    tf.tidy(() => rm.assign(tf.add(tf.mul(rm, 0.9), tf.mul(tf.mean(batch.x, 0), 0.1))));
    const [w, b] = this.variables.map((v) => v.variable);
    const pred = tf.add(tf.matMul(batch.x, w as tf.Tensor2D), b!);
    const mse = tf.mean(tf.square(tf.sub(pred, batch.y))) as tf.Scalar;
    const scaled = tf.mul(mse, 1 + Math.abs(this.ema)) as tf.Scalar;
    const l1 = tf.mul(tf.mean(tf.abs(w!)), 0.01) as tf.Scalar;
    let loss = tf.add(scaled, l1) as tf.Scalar;
    if (this.nanAtCall === this.calls) loss = tf.mul(loss, NaN) as tf.Scalar;
    return { loss, terms: { loss_mse: scaled, loss_l1: l1 } };
  }

  getState(): JsonValue {
    return { ema: this.ema };
  }

  setState(state: JsonValue): void {
    this.ema = (state as { ema: number }).ema;
  }

  weights(): Float32Array[] {
    return [...this.variables, ...this.buffers].map((v) => (v.variable.dataSync() as Float32Array).slice());
  }

  dispose(): void {
    for (const v of [...this.variables, ...this.buffers]) v.variable.dispose();
  }
}

/** Endless seeded batches of a fixed linear target `y = x . [1, -2, 0.5, 3] + 0.25 + noise`. */
export class ToySource implements BatchSource<ToyBatch> {
  readonly batchesPerEpoch = 5;
  private rng: Random;
  private index = 0;
  private epoch = 0;

  constructor(
    seed: number,
    private readonly batchSize = 8,
    private readonly dim = 4,
  ) {
    this.rng = new Random(seed);
  }

  next(): SourcedBatch<ToyBatch> {
    const xs: number[] = [];
    const ys: number[] = [];
    const coef = [1, -2, 0.5, 3];
    for (let i = 0; i < this.batchSize; i++) {
      let y = 0.25 + this.rng.normal(0, 0.01);
      for (let d = 0; d < this.dim; d++) {
        const v = this.rng.uniform(-1, 1);
        xs.push(v);
        y += v * coef[d % coef.length]!;
      }
      ys.push(y);
    }
    const x = tf.tensor2d(xs, [this.batchSize, this.dim]);
    const y = tf.tensor2d(ys, [this.batchSize, 1]);
    const epoch = this.epoch;
    this.index++;
    if (this.index === this.batchesPerEpoch) {
      this.index = 0;
      this.epoch++;
    }
    return {
      data: { x, y, yMean: ys.reduce((a, b) => a + b, 0) / ys.length },
      images: this.batchSize,
      epoch,
      dispose: () => tf.dispose([x, y]),
    };
  }

  getState(): JsonValue {
    return { rng: this.rng.getState(), index: this.index, epoch: this.epoch };
  }

  setState(state: JsonValue): void {
    const s = state as { rng: number; index: number; epoch: number };
    this.rng.setState(s.rng);
    this.index = s.index;
    this.epoch = s.epoch;
  }
}

/**
 * The detector's parameters under stable, path-like names (`backbone/stage1/block0/conv1/kernel`), split into
 * trainable variables and non-trainable state (BatchNorm running statistics).
 *
 * TF.js variables are created unnamed (the engine keeps variable names globally unique, so two detectors could
 * not coexist with fixed names); the logical names here are what save/load and checkpoints use.
 * Initial values are drawn from the seeded {@link Random}, so a seed fixes the whole initialisation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from '../utils/random.js';

export class ParamStore {
  /** Trainable variables by logical name, in creation order. */
  readonly trainable = new Map<string, tf.Variable>();
  /** Non-trainable state (BatchNorm running mean/var) by logical name. */
  readonly nonTrainable = new Map<string, tf.Variable>();
  readonly random: Random;

  constructor(seed: number) {
    this.random = new Random(seed);
  }

  /** Adds a variable with the given initial values (length = product of `shape`). */
  add(name: string, shape: number[], values: Float32Array, trainable = true): tf.Variable {
    if (this.trainable.has(name) || this.nonTrainable.has(name)) {
      throw new Error(`parameter ${JSON.stringify(name)} is defined twice; layer names must be unique`);
    }
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable));
    (trainable ? this.trainable : this.nonTrainable).set(name, v);
    return v;
  }

  /** Values drawn from N(mean, std^2). */
  normal(size: number, std: number, mean = 0): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.random.normal(mean, std);
    return out;
  }

  /** Values drawn from U(-limit, limit). */
  uniform(size: number, limit: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.random.uniform(-limit, limit);
    return out;
  }

  /** Every variable, trainable first, by logical name. */
  all(): Map<string, tf.Variable> {
    return new Map([...this.trainable, ...this.nonTrainable]);
  }

  /** Total number of trainable scalars. */
  numTrainable(): number {
    let n = 0;
    for (const v of this.trainable.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.all().values()) v.dispose();
    this.trainable.clear();
    this.nonTrainable.clear();
  }
}

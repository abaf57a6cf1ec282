/**
 * Convolution and BatchNorm layers over a {@link ParamStore}, NHWC layout, TF 'same' padding.
 *
 * Only ops with fast gradients on the wasm backend are used (conv2d, add, relu, and `batchNormTraining` with
 * its fused gradient), see docs/engine.md, "Training on wasm".
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTraining } from '../engine/ops/batchNorm.js';
import type { ParamStore } from './params.js';

/** Weight initialisation of a conv kernel. */
export type ConvInit =
  /** Kaiming normal, fan-out, ReLU gain (mmdetection ResNet convs). */
  | { kind: 'kaiming' }
  /** Xavier uniform (mmdetection FPN convs). */
  | { kind: 'xavier' }
  /** N(0, std^2) (RetinaNet head convs: std 0.01). */
  | { kind: 'normal'; std: number };

/** A 2-D convolution: kernel `[k, k, cin, cout]`, optional bias `[cout]`. */
export class Conv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(
    params: ParamStore,
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride: 1 | 2,
    init: ConvInit,
    bias: boolean | { value: number },
  ) {
    const size = kernelSize * kernelSize * inChannels * outChannels;
    let values: Float32Array;
    if (init.kind === 'kaiming') {
      values = params.normal(size, Math.sqrt(2 / (kernelSize * kernelSize * outChannels)));
    } else if (init.kind === 'xavier') {
      const fanIn = kernelSize * kernelSize * inChannels;
      const fanOut = kernelSize * kernelSize * outChannels;
      values = params.uniform(size, Math.sqrt(6 / (fanIn + fanOut)));
    } else {
      values = params.normal(size, init.std);
    }
    this.kernel = params.add(`${name}/kernel`, [kernelSize, kernelSize, inChannels, outChannels], values);
    this.bias =
      bias === false
        ? null
        : params.add(
            `${name}/bias`,
            [outChannels],
            new Float32Array(outChannels).fill(bias === true ? 0 : bias.value),
          );
  }

  /** `x: [B, H, W, inChannels]` -> `[B, ceil(H / stride), ceil(W / stride), outChannels]`. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.kernel as tf.Tensor4D, this.stride, 'same');
      return this.bias === null ? y : tf.add(y, this.bias);
    });
  }
}

/**
 * BatchNorm over an NHWC tensor: batch statistics in training (and running-statistics update), running
 * statistics at inference. Running statistics follow PyTorch: `running = (1 - m) * running + m * batch`,
 * with the unbiased batch variance.
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(
    params: ParamStore,
    readonly name: string,
    readonly channels: number,
    readonly momentum: number,
    readonly epsilon: number,
  ) {
    this.gamma = params.add(`${name}/gamma`, [channels], new Float32Array(channels).fill(1));
    this.beta = params.add(`${name}/beta`, [channels], new Float32Array(channels));
    this.runningMean = params.add(`${name}/moving_mean`, [channels], new Float32Array(channels), false);
    this.runningVar = params.add(
      `${name}/moving_variance`,
      [channels],
      new Float32Array(channels).fill(1),
      false,
    );
  }

  /** `x: [B, H, W, C]` -> same shape. In training, also updates the running statistics. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training) {
      return tf.tidy(() =>
        tf.batchNorm4d(
          x,
          this.runningMean as tf.Tensor1D,
          this.runningVar as tf.Tensor1D,
          this.beta as tf.Tensor1D,
          this.gamma as tf.Tensor1D,
          this.epsilon,
        ),
      );
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(
        x,
        this.gamma as tf.Tensor1D,
        this.beta as tf.Tensor1D,
        this.epsilon,
      );
      this.updateRunning(mean, variance, x.size / this.channels);
      return y;
    });
  }

  private updateRunning(mean: tf.Tensor1D, variance: tf.Tensor1D, n: number): void {
    const m = this.momentum;
    const unbias = n > 1 ? n / (n - 1) : 1;
    // Assignments sit outside any gradient: tfjs records no gradient through Variable.assign.
    this.runningMean.assign(tf.tidy(() => tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m))));
    this.runningVar.assign(
      tf.tidy(() => tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, m * unbias))),
    );
  }
}

/** Conv (no bias) + BatchNorm + optional ReLU. */
export class ConvBn {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(
    params: ParamStore,
    name: string,
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    stride: 1 | 2,
    readonly relu: boolean,
    norm: { momentum: number; eps: number },
  ) {
    this.conv = new Conv2d(
      params,
      `${name}/conv`,
      inChannels,
      outChannels,
      kernelSize,
      stride,
      { kind: 'kaiming' },
      false,
    );
    this.bn = new BatchNorm(params, `${name}/bn`, outChannels, norm.momentum, norm.eps);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => {
      const y = this.bn.apply(this.conv.apply(x), training);
      return this.relu ? tf.relu(y) : y;
    });
  }
}

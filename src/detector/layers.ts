/**
 * Convolution, BatchNorm and GroupNorm layers over a {@link ParamStore}, NHWC layout, with PyTorch's symmetric zero
 * padding of floor(k / 2) on every side (`nn.Conv2d(..., padding=k // 2)`, as mmdetection's and torchvision's
 * ResNets and FPNs pad).
 *
 * Only ops with fast gradients on the wasm backend are used (conv2d, add, relu, and `batchNormTraining` with
 * its fused gradient), see docs/engine.md, "Training on wasm".
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTraining } from '../engine/ops/batchNorm.js';
import type { ParamStore } from './params.js';

/** Weight initialisation of a conv kernel (and of its bias, where it has one). */
export type ConvInit =
  /** Kaiming normal, fan-out, ReLU gain (mmdetection ResNet convs); bias 0. */
  | { kind: 'kaiming' }
  /** Xavier uniform (mmdetection FPN convs); bias 0. */
  | { kind: 'xavier' }
  /**
   * PyTorch's default for `nn.Conv2d` (`kaiming_uniform_(a=sqrt(5))`): kernel and bias U(-b, b) with
   * b = 1 / sqrt(fan_in), fan_in = k * k * cin; a fixed bias value, when given, replaces the draw.
   */
  | { kind: 'pytorch' }
  /** N(0, std^2) (RetinaNet head convs: std 0.01); bias 0. */
  | { kind: 'normal'; std: number };

/**
 * The explicit NHWC padding of a k x k convolution: floor(k / 2) zeros on every side of both spatial axes.
 *
 * Why not TF's 'same': for stride 1 and odd k they agree, but with stride 2 on an even size 'same' pads
 * nothing before and one row after, so output cell i looks at input rows 2i..2i+2 (centred on 2i + 1) where
 * PyTorch's padding looks at 2i-1..2i+1 (centred on 2i). The shift adds up over the stride-2 layers: with
 * 'same', a stride-8 feature cell y is centred on input pixel 8y + 7 instead of 8y (15 px off at stride 16,
 * 31 px at stride 32), while the anchors of mmdetection's generator (centre offset 0) sit at 8y. Both paddings
 * give ceil(n / stride) outputs, so shapes do not change.
 */
export function symmetricPadding(kernelSize: number): [[0, 0], [number, number], [number, number], [0, 0]] {
  const p = Math.floor(kernelSize / 2);
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

/** Options of a layer beyond its shape. */
export interface LayerOptions {
  /** Weights trained (default true); false creates them as non-trainable state (frozen stages). */
  trainable?: boolean;
}

/** A 2-D convolution: kernel `[k, k, cin, cout]`, optional bias `[cout]`, symmetric padding floor(k / 2). */
export class Conv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  private readonly padding: ReturnType<typeof symmetricPadding>;

  constructor(
    params: ParamStore,
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride: 1 | 2,
    init: ConvInit,
    bias: boolean | { value: number },
    options: LayerOptions = {},
  ) {
    const trainable = options.trainable ?? true;
    const size = kernelSize * kernelSize * inChannels * outChannels;
    let values: Float32Array;
    if (init.kind === 'kaiming') {
      values = params.normal(size, Math.sqrt(2 / (kernelSize * kernelSize * outChannels)));
    } else if (init.kind === 'xavier') {
      const fanIn = kernelSize * kernelSize * inChannels;
      const fanOut = kernelSize * kernelSize * outChannels;
      values = params.uniform(size, Math.sqrt(6 / (fanIn + fanOut)));
    } else if (init.kind === 'pytorch') {
      values = params.uniform(size, 1 / Math.sqrt(kernelSize * kernelSize * inChannels));
    } else {
      values = params.normal(size, init.std);
    }
    let biasValues: Float32Array | null = null;
    if (bias !== false) {
      biasValues =
        bias === true && init.kind === 'pytorch'
          ? params.uniform(outChannels, 1 / Math.sqrt(kernelSize * kernelSize * inChannels))
          : new Float32Array(outChannels).fill(bias === true ? 0 : bias.value);
    }
    this.padding = symmetricPadding(kernelSize);
    this.kernel = params.add(
      `${name}/kernel`,
      [kernelSize, kernelSize, inChannels, outChannels],
      values,
      trainable,
    );
    this.bias = biasValues === null ? null : params.add(`${name}/bias`, [outChannels], biasValues, trainable);
  }

  /** `x: [B, H, W, inChannels]` -> `[B, ceil(H / stride), ceil(W / stride), outChannels]`. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.kernel as tf.Tensor4D, this.stride, this.padding);
      return this.bias === null ? y : tf.add(y, this.bias);
    });
  }
}

/** Options of a BatchNorm beyond its shape. */
export interface NormOptions {
  /**
   * Always use (never update) the running statistics, in training too: mmdetection's `norm_eval`, and frozen
   * stages. Default false.
   */
  eval?: boolean;
  /** gamma and beta trained (default true); false with `eval` is torchvision's `FrozenBatchNorm2d`. */
  trainable?: boolean;
}

/**
 * BatchNorm over an NHWC tensor: batch statistics in training (and running-statistics update), running
 * statistics at inference (and always with `eval`). Running statistics follow PyTorch:
 * `running = (1 - m) * running + m * batch`, with the unbiased batch variance.
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  private readonly alwaysEval: boolean;

  constructor(
    params: ParamStore,
    readonly name: string,
    readonly channels: number,
    readonly momentum: number,
    readonly epsilon: number,
    options: NormOptions = {},
  ) {
    this.alwaysEval = options.eval ?? false;
    const trainable = options.trainable ?? true;
    this.gamma = params.add(`${name}/gamma`, [channels], new Float32Array(channels).fill(1), trainable);
    this.beta = params.add(`${name}/beta`, [channels], new Float32Array(channels), trainable);
    this.runningMean = params.add(`${name}/moving_mean`, [channels], new Float32Array(channels), false);
    this.runningVar = params.add(
      `${name}/moving_variance`,
      [channels],
      new Float32Array(channels).fill(1),
      false,
    );
  }

  /** `x: [B, H, W, C]` -> same shape. In training (without `eval`), also updates the running statistics. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training || this.alwaysEval) {
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

/**
 * GroupNorm over an NHWC tensor (PyTorch's `nn.GroupNorm`): the C channels split into `groups` consecutive
 * groups, each normalised with the mean and biased variance over (H, W, its channels) of its image, then the
 * per-channel affine `gamma * x + beta`. No running statistics: training and inference compute the same.
 */
export class GroupNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(
    params: ParamStore,
    readonly name: string,
    readonly channels: number,
    readonly groups: number,
    readonly epsilon = 1e-5,
  ) {
    if (channels % groups !== 0) {
      throw new Error(`GroupNorm ${name}: ${channels} channels do not split into ${groups} groups`);
    }
    this.gamma = params.add(`${name}/gamma`, [channels], new Float32Array(channels).fill(1));
    this.beta = params.add(`${name}/beta`, [channels], new Float32Array(channels));
  }

  /** `x: [B, H, W, C]` -> same shape. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w, c] = x.shape;
      // [B, H, W, C] -> [B, H, W, G, C / G]: channel c = g * (C / G) + j, PyTorch's grouping.
      const grouped = tf.reshape(x, [b, h, w, this.groups, c / this.groups]);
      const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
      const normed = tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(tf.reshape(normed, [b, h, w, c]), this.gamma), this.beta) as tf.Tensor4D;
    });
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
    init: ConvInit = { kind: 'kaiming' },
    options: { frozen?: boolean; norm?: NormOptions } = {},
  ) {
    const frozen = options.frozen ?? false;
    this.conv = new Conv2d(params, `${name}/conv`, inChannels, outChannels, kernelSize, stride, init, false, {
      trainable: !frozen,
    });
    // A frozen layer's BatchNorm is frozen too (mmdetection's `_freeze_stages`: eval mode, no gradient).
    const normOptions = frozen ? { eval: true, trainable: false } : (options.norm ?? {});
    this.bn = new BatchNorm(params, `${name}/bn`, outChannels, norm.momentum, norm.eps, normOptions);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => {
      const y = this.bn.apply(this.conv.apply(x), training);
      return this.relu ? tf.relu(y) : y;
    });
  }
}

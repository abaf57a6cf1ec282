/**
 * RetinaNet head: a classification branch and a regression branch of `stackedConvs` 3x3 conv + ReLU layers
 * (`featChannels` wide; no norm, or with `norm: 'BN'` conv + BN + ReLU, one BatchNorm per pyramid level, or with
 * `norm: 'GN'` conv + GroupNorm + ReLU, one GroupNorm shared by the levels as in torchvision's v2 head), each
 * ending in a 3x3 conv to A*K logits / A*4 deltas. The same conv weights serve every pyramid level. Weights
 * N(0, 0.01^2), biases 0, classification bias -log((1 - p) / p) with the prior p (`priorProb` 0.01 => -4.595),
 * so every anchor starts at score p and the background does not swamp the loss.
 *
 * The head owns its loss: {@link RetinaHead.computeLoss} builds per-level (or whole-batch) loss inputs from the
 * flattened outputs and the typed-array targets with reshape/concat only (no gather on the tape).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HeadConfig } from './config.js';
import { anchorsPerLocation } from './anchors.js';
import { BatchNorm, Conv2d, GroupNorm } from './layers.js';
import type { DetectorLoss, LossBuilder } from './lossContract.js';
import type { ParamStore } from './params.js';
import type { ImageTargets } from './targets.js';

/** Raw head outputs, one entry per pyramid level in order (P3 first). */
export interface HeadOutputs {
  /** `clsLogits[l]: [B, H_l * W_l * A, K]` logits (any real), anchor order (y, x, anchor) within the level. */
  clsLogits: tf.Tensor3D[];
  /** `bboxDeltas[l]: [B, H_l * W_l * A, 4]` encoded (dx, dy, dw, dh), same order. */
  bboxDeltas: tf.Tensor3D[];
  /** `[H_l, W_l]` of each level's feature map. */
  featureSizes: [number, number][];
}

/** Loss of one batch. */
export interface LossResult {
  /** `loss_cls + loss_bbox`, a scalar on the gradient tape. */
  loss: tf.Scalar;
  /** The two terms, scalars (see `RetinaNet.computeLoss` for their lifetime). */
  terms: { loss_cls: tf.Scalar; loss_bbox: tf.Scalar };
  /** Positive anchors in the batch (avgFactor = max(1, numPos)). */
  numPos: number;
}

export class RetinaHead {
  readonly numAnchors: number;
  private readonly clsConvs: Conv2d[] = [];
  private readonly regConvs: Conv2d[] = [];
  /** With `norm: 'BN'`: `clsNorms[i][level]`, `regNorms[i][level]`; empty otherwise. */
  private readonly clsNorms: BatchNorm[][] = [];
  private readonly regNorms: BatchNorm[][] = [];
  /** With `norm: 'GN'`: `clsGroupNorms[i]`, `regGroupNorms[i]`; empty otherwise. */
  private readonly clsGroupNorms: GroupNorm[] = [];
  private readonly regGroupNorms: GroupNorm[] = [];
  private readonly clsOut: Conv2d;
  private readonly regOut: Conv2d;
  private losses: { cls: DetectorLoss; bbox: DetectorLoss } | null = null;

  constructor(
    params: ParamStore,
    readonly cfg: HeadConfig,
    readonly numClasses: number,
    inChannels: number,
    private readonly buildLoss: LossBuilder | undefined,
    norm: { momentum: number; eps: number } = { momentum: 0.1, eps: 1e-5 },
  ) {
    const ag = cfg.anchor_generator;
    this.numAnchors = anchorsPerLocation(ag);
    const init = { kind: 'normal', std: 0.01 } as const;
    const withBn = cfg.norm === 'BN';
    const withGn = cfg.norm === 'GN';
    const levelNorms = (name: string): BatchNorm[] =>
      ag.strides.map(
        (_, l) => new BatchNorm(params, `${name}/bn_level${l}`, cfg.featChannels, norm.momentum, norm.eps),
      );
    for (let i = 0; i < cfg.stackedConvs; i++) {
      const inC = i === 0 ? inChannels : cfg.featChannels;
      // A conv followed by a norm needs no bias (the norm's beta takes its place).
      const bias = !withBn && !withGn;
      this.clsConvs.push(new Conv2d(params, `head/cls_convs${i}`, inC, cfg.featChannels, 3, 1, init, bias));
      this.regConvs.push(new Conv2d(params, `head/reg_convs${i}`, inC, cfg.featChannels, 3, 1, init, bias));
      if (withBn) {
        this.clsNorms.push(levelNorms(`head/cls_convs${i}`));
        this.regNorms.push(levelNorms(`head/reg_convs${i}`));
      }
      if (withGn) {
        const g = cfg.num_groups!;
        this.clsGroupNorms.push(new GroupNorm(params, `head/cls_convs${i}/gn`, cfg.featChannels, g));
        this.regGroupNorms.push(new GroupNorm(params, `head/reg_convs${i}/gn`, cfg.featChannels, g));
      }
    }
    const lastC = cfg.stackedConvs > 0 ? cfg.featChannels : inChannels;
    const priorBias = -Math.log((1 - cfg.priorProb) / cfg.priorProb);
    this.clsOut = new Conv2d(params, 'head/retina_cls', lastC, this.numAnchors * numClasses, 3, 1, init, {
      value: priorBias,
    });
    this.regOut = new Conv2d(params, 'head/retina_reg', lastC, this.numAnchors * 4, 3, 1, init, true);
  }

  /**
   * The classification and regression losses, built on first use from `loss_cls` / `loss_bbox` (a model used
   * only for inference never builds them).
   */
  get lossModules(): { cls: DetectorLoss; bbox: DetectorLoss } {
    if (this.losses === null) {
      if (this.buildLoss === undefined) {
        throw new Error(
          'RetinaHead: no loss builder was given; pass `buildLoss` in the RetinaNet options to train',
        );
      }
      this.losses = { cls: this.buildLoss(this.cfg.loss_cls), bbox: this.buildLoss(this.cfg.loss_bbox) };
    }
    return this.losses;
  }

  /**
   * @param feats pyramid maps `P_l: [B, H_l, W_l, C]`.
   * @param training with `norm: 'BN'`, batch statistics (and running-statistics update) when true.
   */
  apply(feats: tf.Tensor4D[], training = false): HeadOutputs {
    const featureSizes = feats.map((f) => [f.shape[1], f.shape[2]] as [number, number]);
    const branch = (
      input: tf.Tensor4D,
      convs: Conv2d[],
      norms: BatchNorm[][],
      groupNorms: GroupNorm[],
      level: number,
    ): tf.Tensor4D => {
      let x = input;
      for (const [i, conv] of convs.entries()) {
        const y = conv.apply(x);
        if (norms.length > 0) x = tf.relu(norms[i]![level]!.apply(y, training));
        else if (groupNorms.length > 0) x = tf.relu(groupNorms[i]!.apply(y));
        else x = tf.relu(y);
      }
      return x;
    };
    const out = tf.tidy(() => {
      const cls: tf.Tensor3D[] = [];
      const reg: tf.Tensor3D[] = [];
      for (const [level, f] of feats.entries()) {
        const [b, h, w] = [f.shape[0], f.shape[1], f.shape[2]];
        const c = branch(f, this.clsConvs, this.clsNorms, this.clsGroupNorms, level);
        const r = branch(f, this.regConvs, this.regNorms, this.regGroupNorms, level);
        // [B, H, W, A*K] -> [B, H*W*A, K]: NHWC row-major order gives (y, x, anchor), the anchor generator's order.
        cls.push(tf.reshape(this.clsOut.apply(c), [b, h * w * this.numAnchors, this.numClasses]));
        reg.push(tf.reshape(this.regOut.apply(r), [b, h * w * this.numAnchors, 4]));
      }
      return { cls, reg };
    });
    return { clsLogits: out.cls, bboxDeltas: out.reg, featureSizes };
  }

  /**
   * Loss of a batch.
   *
   * @param outputs the head outputs of the batch (B images).
   * @param targets one {@link ImageTargets} per image, anchors in the detector's order (levels concatenated).
   *
   * `loss_granularity: 'level'` calls each loss once per level with that level's anchors of all images
   * ([B * A_l, K]), summing the results (the reference implementation; the loss state is shared by the levels).
   * `'batch'` calls each loss once with all anchors of the batch ([B * A, K]), the paper's formulation.
   * `avgFactor = max(1, numPos)` over the whole batch in both cases, so avgFactor-normalised losses give the same
   * value either way; GHM losses do not (their densities are per call).
   */
  computeLoss(outputs: HeadOutputs, targets: ImageTargets[]): LossResult {
    const b = targets.length;
    const k = this.numClasses;
    const levelSizes = outputs.clsLogits.map((t) => t.shape[1]);
    const total = levelSizes.reduce((s, n) => s + n, 0);
    if (outputs.clsLogits[0]!.shape[0] !== b) {
      throw new Error(`targets has ${b} images, expected the batch size ${outputs.clsLogits[0]!.shape[0]}`);
    }
    targets.forEach((t, i) => {
      if (t.labelWeights.length !== total) {
        throw new Error(
          `targets[${i}] covers ${t.labelWeights.length} anchors, expected ${total}; were they encoded for this input size?`,
        );
      }
    });
    const numPos = targets.reduce((s, t) => s + t.numPos, 0);
    const avgFactor = Math.max(1, numPos);
    // Anchor ranges [start, end) of each loss call within one image's anchors.
    const ranges: [number, number][] = [];
    if (this.cfg.loss_granularity === 'batch') ranges.push([0, total]);
    else {
      let start = 0;
      for (const n of levelSizes) {
        ranges.push([start, start + n]);
        start += n;
      }
    }
    const { cls: lossClsModule, bbox: lossBboxModule } = this.lossModules;
    const result = tf.tidy(() => {
      // 'batch': all levels side by side per image: [B, A, K]; 'level': one level at a time: [B, A_l, K].
      const clsPreds =
        this.cfg.loss_granularity === 'batch' ? [tf.concat(outputs.clsLogits, 1)] : outputs.clsLogits;
      const regPreds =
        this.cfg.loss_granularity === 'batch' ? [tf.concat(outputs.bboxDeltas, 1)] : outputs.bboxDeltas;
      let lossCls: tf.Scalar = tf.scalar(0);
      let lossBbox: tf.Scalar = tf.scalar(0);
      ranges.forEach(([start, end], i) => {
        const n = end - start;
        // [B, n, K] -> [B * n, K]: rows ordered (image, anchor), matching the target concatenation below.
        const clsPred = tf.reshape(clsPreds[i]!, [b * n, k]) as tf.Tensor2D;
        const regPred = tf.reshape(regPreds[i]!, [b * n, 4]) as tf.Tensor2D;
        const t = batchTargets(targets, start, end, k);
        const lc = lossClsModule.call(
          clsPred,
          tf.tensor2d(t.labels, [b * n, k]),
          tf.tensor2d(t.labelWeights, [b * n, k]),
          { avgFactor },
        );
        const lb = lossBboxModule.call(
          regPred,
          tf.tensor2d(t.bboxTargets, [b * n, 4]),
          tf.tensor2d(t.bboxWeights, [b * n, 4]),
          { avgFactor },
        );
        lossCls = tf.add(lossCls, lc);
        lossBbox = tf.add(lossBbox, lb);
      });
      return { loss: tf.add(lossCls, lossBbox) as tf.Scalar, lossCls, lossBbox };
    });
    return { loss: result.loss, terms: { loss_cls: result.lossCls, loss_bbox: result.lossBbox }, numPos };
  }
}

/**
 * The targets of anchors [start, end) of every image, concatenated image after image (rows (image, anchor)),
 * with the per-anchor label weight repeated over the K classes.
 *
 * @returns `labels`, `labelWeights`: `[B * n * K]`; `bboxTargets`, `bboxWeights`: `[B * n * 4]`, n = end - start.
 */
function batchTargets(
  targets: ImageTargets[],
  start: number,
  end: number,
  k: number,
): {
  labels: Float32Array;
  labelWeights: Float32Array;
  bboxTargets: Float32Array;
  bboxWeights: Float32Array;
} {
  const b = targets.length;
  const n = end - start;
  const labels = new Float32Array(b * n * k);
  const labelWeights = new Float32Array(b * n * k);
  const bboxTargets = new Float32Array(b * n * 4);
  const bboxWeights = new Float32Array(b * n * 4);
  targets.forEach((t, img) => {
    labels.set(t.labels.subarray(start * k, end * k), img * n * k);
    bboxTargets.set(t.bboxTargets.subarray(start * 4, end * 4), img * n * 4);
    bboxWeights.set(t.bboxWeights.subarray(start * 4, end * 4), img * n * 4);
    for (let a = 0; a < n; a++) {
      const w = t.labelWeights[start + a]!;
      if (w > 0) labelWeights.fill(w, (img * n + a) * k, (img * n + a + 1) * k);
    }
  });
  return { labels, labelWeights, bboxTargets, bboxWeights };
}

/**
 * ResNet-style backbone built from scratch (no pretrained weights), depth and width set by
 * {@link BackboneConfig}. NHWC; returns the outputs of its stages C2..C5 (strides 4, 8, 16, 32), or of the first
 * `widths.length` of them.
 *
 *  - stem: conv kxk stride 2 + BN + ReLU (+ 3x3 stride-2 max-pool when `stemPool`);
 *  - stage i (i = 0..3) runs at stride 2^(i+2); it reaches it from the previous stride either with
 *    `downsample: 'conv'` (a 3x3 stride-2 conv + BN + ReLU to the stage width, then `blocks[i]` residual blocks)
 *    or `downsample: 'block'` (ResNet: the first block is strided, with a 1x1 conv + BN projection shortcut).
 *    Stage 0 needs no reduction when the stem pools (it is already at stride 4).
 *  - basic block: 3x3 conv-BN-ReLU, 3x3 conv-BN, + shortcut, ReLU; bottleneck: 1x1, 3x3 (strided), 1x1 (x4),
 *    + shortcut, ReLU (torchvision ResNet v1.5 puts the stride on the 3x3).
 * Options for imported PyTorch weights (defaults leave the net as described): `norm_eval` / `normRequiresGrad`
 * keep BatchNorm on its running statistics / its affine parameters fixed; `frozen_stages` s freezes the stem and
 * stages 1..s (mmdetection).
 */
import * as tf from '@tensorflow/tfjs-core';
import { backboneStagesError, type BackboneConfig } from './config.js';
import { ConvBn, type NormOptions } from './layers.js';
import type { ParamStore } from './params.js';

const BOTTLENECK_EXPANSION = 4;

function blockOutChannels(cfg: BackboneConfig, width: number): number {
  return cfg.block === 'basic' ? width : width * BOTTLENECK_EXPANSION;
}

/** Layer options of a stage (0 = the stem, s = stage s) under the config's norm and freezing. */
interface StageLayerOptions {
  frozen: boolean;
  norm: NormOptions;
}

function stageLayerOptions(cfg: BackboneConfig, stage: number): StageLayerOptions {
  return {
    frozen: stage <= (cfg.frozen_stages ?? -1),
    norm: { eval: cfg.norm_eval ?? false, trainable: cfg.normRequiresGrad ?? true },
  };
}

/** One residual block (basic or bottleneck), with an optional projection shortcut. */
class ResidualBlock {
  private readonly convs: ConvBn[];
  private readonly shortcut: ConvBn | null;

  constructor(
    params: ParamStore,
    name: string,
    cfg: BackboneConfig,
    inC: number,
    width: number,
    stride: 1 | 2,
    layer: StageLayerOptions,
  ) {
    const norm = { momentum: cfg.normMomentum, eps: cfg.normEps };
    const init = { kind: cfg.init };
    const outC = blockOutChannels(cfg, width);
    if (cfg.block === 'basic') {
      this.convs = [
        new ConvBn(params, `${name}/conv1`, inC, width, 3, stride, true, norm, init, layer),
        new ConvBn(params, `${name}/conv2`, width, width, 3, 1, false, norm, init, layer),
      ];
    } else {
      this.convs = [
        new ConvBn(params, `${name}/conv1`, inC, width, 1, 1, true, norm, init, layer),
        new ConvBn(params, `${name}/conv2`, width, width, 3, stride, true, norm, init, layer),
        new ConvBn(params, `${name}/conv3`, width, outC, 1, 1, false, norm, init, layer),
      ];
    }
    this.shortcut =
      stride !== 1 || inC !== outC
        ? new ConvBn(params, `${name}/shortcut`, inC, outC, 1, stride, false, norm, init, layer)
        : null;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => {
      let y = x;
      for (const c of this.convs) y = c.apply(y, training);
      const identity = this.shortcut === null ? x : this.shortcut.apply(x, training);
      return tf.relu(tf.add(y, identity)) as tf.Tensor4D;
    });
  }
}

/** One stage: an optional down-sampling conv, then residual blocks. */
interface Stage {
  down: ConvBn | null;
  blocks: ResidualBlock[];
}

export class ResNetBackbone {
  /** Channels of C2, C3, ... (one per stage). */
  readonly outChannels: number[];
  /** Strides of C2, C3, ... relative to the input. */
  readonly strides: number[];
  private readonly stem: ConvBn;
  private readonly stages: Stage[] = [];

  constructor(
    params: ParamStore,
    readonly cfg: BackboneConfig,
  ) {
    const norm = { momentum: cfg.normMomentum, eps: cfg.normEps };
    const init = { kind: cfg.init };
    this.stem = new ConvBn(
      params,
      'backbone/stem',
      3,
      cfg.stemChannels,
      cfg.stemKernel,
      2,
      true,
      norm,
      init,
      stageLayerOptions(cfg, 0),
    );
    let inC = cfg.stemChannels;
    this.outChannels = [];
    const stagesError = backboneStagesError(cfg);
    if (stagesError !== undefined) throw new Error(stagesError);
    this.strides = cfg.widths.map((_, i) => 2 ** (i + 2));
    for (let i = 0; i < cfg.widths.length; i++) {
      const width = cfg.widths[i]!;
      const stride: 1 | 2 = i === 0 && cfg.stemPool ? 1 : 2;
      const name = `backbone/stage${i + 1}`;
      const layer = stageLayerOptions(cfg, i + 1);
      let down: ConvBn | null = null;
      const blocks: ResidualBlock[] = [];
      if (cfg.downsample === 'conv') {
        down = new ConvBn(params, `${name}/down`, inC, width, 3, stride, true, norm, init, layer);
        inC = width;
        for (let b = 0; b < cfg.blocks[i]!; b++) {
          blocks.push(new ResidualBlock(params, `${name}/block${b}`, cfg, inC, width, 1, layer));
          inC = blockOutChannels(cfg, width);
        }
      } else {
        if (cfg.blocks[i]! < 1) {
          throw new Error(
            `backbone.blocks[${i}] = 0, expected >= 1 with downsample 'block' (the first block strides)`,
          );
        }
        for (let b = 0; b < cfg.blocks[i]!; b++) {
          blocks.push(
            new ResidualBlock(params, `${name}/block${b}`, cfg, inC, width, b === 0 ? stride : 1, layer),
          );
          inC = blockOutChannels(cfg, width);
        }
      }
      this.stages.push({ down, blocks });
      this.outChannels.push(inC);
    }
  }

  /**
   * @param images `[B, H, W, 3]` normalised float images; H and W multiples of 32.
   * @returns `[C2, C3, ...]` (one per stage), `C_i: [B, H / 2^i, W / 2^i, outChannels[i-2]]`.
   */
  apply(images: tf.Tensor4D, training: boolean): tf.Tensor4D[] {
    return tf.tidy(() => {
      let x = this.stem.apply(images, training);
      if (this.cfg.stemPool) x = tf.maxPool(x, 3, 2, 1); // PyTorch's MaxPool2d(3, 2, padding=1)
      const outs: tf.Tensor4D[] = [];
      for (const stage of this.stages) {
        if (stage.down !== null) x = stage.down.apply(x, training);
        for (const b of stage.blocks) x = b.apply(x, training);
        outs.push(x);
      }
      return outs;
    });
  }
}

/**
 * Feature Pyramid Network with mmdetection v2 semantics (`FPN`, `add_extra_convs`).
 *
 * Inputs: the backbone's C2..C5. With `startLevel = s`, stages C(s+2)..C5 are used (u = 4 - s of them):
 *   lateral_i = conv1x1(C_i) -> outChannels
 *   top-down, coarsest first: lateral_{i-1} += nearest-resize(lateral_i, to lateral_{i-1}'s size) (x2 for even sizes)
 *   P_i = conv3x3(lateral_i)                   (smoothing; no ReLU)
 * Then, when `numOuts > u`, extra levels: the first from C5 (`'on_input'`, mmdetection v2 RetinaNet) or from the
 * last P (`'on_output'`) by a 3x3 stride-2 conv, each following one from the previous extra level by a 3x3
 * stride-2 conv (with a ReLU before it when `reluBeforeExtraConvs`). All convs are initialised by `init`:
 * Xavier-uniform with zero bias, as in mmdetection, or PyTorch's `nn.Conv2d` default.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NeckConfig } from './config.js';
import { Conv2d } from './layers.js';
import type { ParamStore } from './params.js';

export class Fpn {
  private readonly laterals: Conv2d[] = [];
  private readonly smooth: Conv2d[] = [];
  private readonly extras: Conv2d[] = [];
  private readonly numUsed: number;

  /**
   * @param inChannels channels of C2..C5 (the backbone's `outChannels`).
   */
  constructor(
    params: ParamStore,
    readonly cfg: NeckConfig,
    inChannels: number[],
  ) {
    this.numUsed = inChannels.length - cfg.startLevel;
    if (cfg.numOuts < this.numUsed) {
      throw new Error(
        `neck.numOuts = ${cfg.numOuts}, expected at least ${this.numUsed} (backbone stages from startLevel ` +
          `${cfg.startLevel} to the last); raise startLevel or drop backbone stages to use fewer levels`,
      );
    }
    const c = cfg.outChannels;
    const init = { kind: cfg.init };
    for (let i = 0; i < this.numUsed; i++) {
      const inC = inChannels[cfg.startLevel + i]!;
      this.laterals.push(new Conv2d(params, `neck/lateral${i}`, inC, c, 1, 1, init, true));
      this.smooth.push(new Conv2d(params, `neck/fpn${i}`, c, c, 3, 1, init, true));
    }
    for (let i = this.numUsed; i < cfg.numOuts; i++) {
      const inC =
        i === this.numUsed && cfg.addExtraConvs === 'on_input' ? inChannels[inChannels.length - 1]! : c;
      this.extras.push(new Conv2d(params, `neck/extra${i - this.numUsed}`, inC, c, 3, 2, init, true));
    }
  }

  /**
   * @param feats `[C2, C3, C4, C5]` from the backbone.
   * @returns `numOuts` maps `P_l: [B, H / 2^l, W / 2^l, outChannels]`, l = startLevel + 2 .. in order.
   */
  apply(feats: tf.Tensor4D[]): tf.Tensor4D[] {
    return tf.tidy(() => {
      const inputs = feats.slice(this.cfg.startLevel);
      const lat = inputs.map((x, i) => this.laterals[i]!.apply(x));
      for (let i = lat.length - 1; i > 0; i--) {
        const [h, w] = [lat[i - 1]!.shape[1], lat[i - 1]!.shape[2]];
        lat[i - 1] = tf.add(lat[i - 1]!, tf.image.resizeNearestNeighbor(lat[i]!, [h, w]));
      }
      const outs = lat.map((x, i) => this.smooth[i]!.apply(x));
      this.extras.forEach((conv, i) => {
        let src: tf.Tensor4D;
        if (i === 0)
          src = this.cfg.addExtraConvs === 'on_input' ? inputs[inputs.length - 1]! : outs[outs.length - 1]!;
        else src = this.cfg.reluBeforeExtraConvs ? tf.relu(outs[outs.length - 1]!) : outs[outs.length - 1]!;
        outs.push(conv.apply(src));
      });
      return outs;
    });
  }
}

/**
 * RetinaNet anchor generator with mmdetection v2 semantics (`AnchorGenerator` with `octave_base_scale`,
 * `scales_per_octave`, `center_offset = 0`).
 *
 * For a level of stride `s` (base size = s):
 *   scales  = octave_base_scale * 2^(i / scales_per_octave), i = 0..scales_per_octave-1
 *   ratios  = h / w (e.g. 0.5, 1, 2)
 *   w = s * scale / sqrt(ratio),  h = s * scale * sqrt(ratio)
 *   base anchors are centred on (0, 0): [-w/2, -h/2, w/2, h/2]; their index is `ratio * numScales + scale`
 *   (mmdetection's default `scale_major=True` flattens `w_ratios[:, None] * scales[None, :]`), and they are
 *   shifted to (x * s, y * s) for each feature-map cell (centre offset 0).
 *
 * Anchor order inside a level is (y, x, anchor), matching the head's reshape of `[B, H, W, A*K]` to `[B, H*W*A, K]`.
 */

/** Options of the anchor generator (mmdetection `anchor_generator` vocabulary). */
export interface AnchorGeneratorOptions {
  /** Base scale of an octave (RetinaNet: 4). */
  octave_base_scale: number;
  /** Scales per octave (RetinaNet: 3 => 4 * 2^{0, 1/3, 2/3}). */
  scales_per_octave: number;
  /** Aspect ratios h/w (RetinaNet: [0.5, 1, 2]). */
  ratios: number[];
  /** Stride in pixels of each pyramid level, in level order (RetinaNet: [8, 16, 32, 64, 128]). */
  strides: number[];
}

/** Number of anchors per feature-map cell. */
export function anchorsPerLocation(opts: AnchorGeneratorOptions): number {
  return opts.ratios.length * opts.scales_per_octave;
}

/**
 * Base anchors of one level, centred on (0, 0).
 *
 * @returns xyxy flat array `[A * 4]`, A = ratios.length * scales_per_octave, index `ratio * numScales + scale`.
 */
export function baseAnchorsXyxy(stride: number, opts: AnchorGeneratorOptions): Float32Array {
  const numScales = opts.scales_per_octave;
  const out = new Float32Array(anchorsPerLocation(opts) * 4);
  let k = 0;
  for (const ratio of opts.ratios) {
    const hRatio = Math.sqrt(ratio);
    const wRatio = 1 / hRatio;
    for (let i = 0; i < numScales; i++) {
      const scale = opts.octave_base_scale * 2 ** (i / numScales);
      const w = stride * wRatio * scale;
      const h = stride * hRatio * scale;
      out[k++] = -0.5 * w;
      out[k++] = -0.5 * h;
      out[k++] = 0.5 * w;
      out[k++] = 0.5 * h;
    }
  }
  return out;
}

/** Anchors of one pyramid level. */
export interface LevelAnchors {
  /** Stride of the level in input pixels. */
  stride: number;
  /** Feature-map height and width of the level. */
  height: number;
  width: number;
  /** xyxy input-image pixels, `[height * width * A * 4]`, order (y, x, anchor). */
  anchorsXyxy: Float32Array;
}

/**
 * Anchors of every level for feature maps of the given sizes.
 *
 * @param featureSizes `[height, width]` of each level's feature map, in the order of `opts.strides`.
 */
export function generateAnchors(
  featureSizes: [number, number][],
  opts: AnchorGeneratorOptions,
): LevelAnchors[] {
  if (featureSizes.length !== opts.strides.length) {
    throw new Error(
      `featureSizes has ${featureSizes.length} levels, expected ${opts.strides.length} (one per anchor stride); ` +
        `do neck.numOuts and head.anchor_generator.strides agree?`,
    );
  }
  return featureSizes.map(([height, width], level) => {
    const stride = opts.strides[level]!;
    const base = baseAnchorsXyxy(stride, opts);
    const a = base.length / 4;
    const out = new Float32Array(height * width * a * 4);
    let k = 0;
    for (let y = 0; y < height; y++) {
      const sy = y * stride;
      for (let x = 0; x < width; x++) {
        const sx = x * stride;
        for (let i = 0; i < a; i++) {
          out[k++] = base[4 * i]! + sx;
          out[k++] = base[4 * i + 1]! + sy;
          out[k++] = base[4 * i + 2]! + sx;
          out[k++] = base[4 * i + 3]! + sy;
        }
      }
    }
    return { stride, height, width, anchorsXyxy: out };
  });
}

/** Concatenation of all levels' anchors, `[sum_l H_l*W_l*A * 4]` xyxy, levels in order. */
export function concatLevelAnchors(levels: LevelAnchors[]): Float32Array {
  const total = levels.reduce((s, l) => s + l.anchorsXyxy.length, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const l of levels) {
    out.set(l.anchorsXyxy, offset);
    offset += l.anchorsXyxy.length;
  }
  return out;
}

/**
 * RetinaNet anchor generators: mmdetection v2's (`AnchorGenerator` with `octave_base_scale`,
 * `scales_per_octave`, `center_offset = 0`), the default, and torchvision's (`type: 'torchvision'`, below).
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
 *
 * torchvision's `AnchorGenerator` (torchvision 0.14, `models/detection/anchor_utils.py`), for imported models:
 *   per level l, absolute sizes s (RetinaNet: (x, int(x 2^(1/3)), int(x 2^(2/3))), x = 32..512) and ratios r,
 *   in float32: h_ratio = sqrt(r), w_ratio = 1 / h_ratio, w = w_ratio * s, h = h_ratio * s (index ratio * numSizes
 *   + size, the same order as above), base anchor = round([-w, -h, w, h] / 2) with round-half-to-even
 *   (`torch.round`); shifted by (x * stride_x, y * stride_y) where stride_y = floor(inputHeight / H_l) and
 *   stride_x = floor(inputWidth / W_l) of the padded input: on P6/P7 of an input that is not a multiple of 128
 *   these are not 64/128 (an 800-row input has a 7-row P7, stride 114), exactly as torchvision computes them.
 */

/** Options of mmdetection's anchor generator (mmdetection `anchor_generator` vocabulary). */
export interface MmdetAnchorOptions {
  /** 'AnchorGenerator' or absent. */
  type?: 'AnchorGenerator';
  /** Base scale of an octave (RetinaNet: 4). */
  octave_base_scale: number;
  /** Scales per octave (RetinaNet: 3 => 4 * 2^{0, 1/3, 2/3}). */
  scales_per_octave: number;
  /** Aspect ratios h/w (RetinaNet: [0.5, 1, 2]). */
  ratios: number[];
  /** Stride in pixels of each pyramid level, in level order (RetinaNet: [8, 16, 32, 64, 128]). */
  strides: number[];
}

/** Options of torchvision's anchor generator. */
export interface TorchvisionAnchorOptions {
  type: 'torchvision';
  /** Anchor sizes (pixels) of each level, the same count on every level. */
  sizes: number[][];
  /** Aspect ratios h/w. */
  ratios: number[];
  /** Nominal strides (one per level); the anchors use the input's own (see the file comment). */
  strides: number[];
}

export type AnchorGeneratorOptions = MmdetAnchorOptions | TorchvisionAnchorOptions;

/** Number of anchors per feature-map cell. */
export function anchorsPerLocation(opts: AnchorGeneratorOptions): number {
  return opts.type === 'torchvision'
    ? opts.ratios.length * opts.sizes[0]!.length
    : opts.ratios.length * opts.scales_per_octave;
}

/**
 * Base anchors of one level, centred on (0, 0).
 *
 * @returns xyxy flat array `[A * 4]`, A = ratios.length * scales_per_octave, index `ratio * numScales + scale`.
 */
export function baseAnchorsXyxy(stride: number, opts: MmdetAnchorOptions): Float32Array {
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

/** `torch.round`: to the nearest integer, halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision's base anchors of one level (float32 arithmetic, then rounded), centred on (0, 0).
 *
 * @returns xyxy flat array `[A * 4]`, A = ratios.length * sizes.length, index `ratio * numSizes + size`.
 */
export function torchvisionBaseAnchorsXyxy(
  sizes: readonly number[],
  ratios: readonly number[],
): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(sizes.length * ratios.length * 4);
  let k = 0;
  for (const ratio of ratios) {
    const hRatio = f(Math.sqrt(f(ratio)));
    const wRatio = f(1 / hRatio);
    for (const size of sizes) {
      const w = f(wRatio * f(size));
      const h = f(hRatio * f(size));
      out[k++] = roundHalfEven(f(-w / 2));
      out[k++] = roundHalfEven(f(-h / 2));
      out[k++] = roundHalfEven(f(w / 2));
      out[k++] = roundHalfEven(f(h / 2));
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
 * @param inputSize `[height, width]` of the padded network input; torchvision's generator derives its strides
 * from it (default: the first level's size times its stride, exact for inputs padded to the largest backbone
 * stride).
 */
export function generateAnchors(
  featureSizes: [number, number][],
  opts: AnchorGeneratorOptions,
  inputSize?: [number, number],
): LevelAnchors[] {
  if (featureSizes.length !== opts.strides.length) {
    throw new Error(
      `featureSizes has ${featureSizes.length} levels, expected ${opts.strides.length} (one per anchor stride); ` +
        `do neck.numOuts and head.anchor_generator.strides agree?`,
    );
  }
  if (opts.type === 'torchvision') return torchvisionAnchors(featureSizes, opts, inputSize);
  return featureSizes.map(([height, width], level) => {
    const stride = opts.strides[level]!;
    const base = baseAnchorsXyxy(stride, opts);
    return { stride, height, width, anchorsXyxy: shiftAnchors(base, height, width, stride, stride) };
  });
}

function torchvisionAnchors(
  featureSizes: [number, number][],
  opts: TorchvisionAnchorOptions,
  inputSize?: [number, number],
): LevelAnchors[] {
  const [ih, iw] = inputSize ?? [
    featureSizes[0]![0] * opts.strides[0]!,
    featureSizes[0]![1] * opts.strides[0]!,
  ];
  return featureSizes.map(([height, width], level) => {
    const base = torchvisionBaseAnchorsXyxy(opts.sizes[level]!, opts.ratios);
    const strideY = Math.floor(ih / height);
    const strideX = Math.floor(iw / width);
    return {
      stride: opts.strides[level]!,
      height,
      width,
      anchorsXyxy: shiftAnchors(base, height, width, strideY, strideX),
    };
  });
}

/** Base anchors `[A * 4]` shifted to every cell of a `height` x `width` map: `[height * width * A * 4]`. */
function shiftAnchors(
  base: Float32Array,
  height: number,
  width: number,
  strideY: number,
  strideX: number,
): Float32Array {
  const a = base.length / 4;
  const out = new Float32Array(height * width * a * 4);
  let k = 0;
  for (let y = 0; y < height; y++) {
    const sy = y * strideY;
    for (let x = 0; x < width; x++) {
      const sx = x * strideX;
      for (let i = 0; i < a; i++) {
        out[k++] = base[4 * i]! + sx;
        out[k++] = base[4 * i + 1]! + sy;
        out[k++] = base[4 * i + 2]! + sx;
        out[k++] = base[4 * i + 3]! + sy;
      }
    }
  }
  return out;
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

/**
 * The image/box transforms of the detection input pipeline, in mmdetection's order and semantics:
 * keep-ratio resize -> horizontal flip -> normalise -> pad (to a size divisor, or to a fixed batch shape).
 *
 * Images are row-major `[H, W, 3]` RGB arrays; boxes are `Float32Array [n, 4]` xyxy in continuous pixel
 * coordinates (see dataset.ts). Each transform moves the boxes with the image; padding at the bottom and
 * right does not move them.
 */

/** mmdetection's ImageNet RGB mean and std (0..255 units). */
export const IMAGENET_MEAN: [number, number, number] = [123.675, 116.28, 103.53];
export const IMAGENET_STD: [number, number, number] = [58.395, 57.12, 57.375];

export interface ResizeResult {
  width: number;
  height: number;
  /** newWidth / width and newHeight / height: input pixels = original pixels * scale. */
  scaleX: number;
  scaleY: number;
}

/**
 * Target size of a keep-ratio resize, mmcv's `rescale_size(keep_ratio=True)`: with `scale = [long, short]`
 * the factor is `min(long / max(w, h), short / min(w, h))` and each side is `floor(side * factor + 0.5)`.
 * `[S, S]` therefore means "longest side S" (a fixed max side). mmdetection's COCO default is [1333, 800].
 * Upscaling is allowed, as in mmdetection.
 */
export function keepRatioSize(width: number, height: number, scale: readonly [number, number]): ResizeResult {
  const [long, short] = scale;
  if (!(long > 0 && short > 0))
    throw new Error(`keepRatioSize: scale must be two positive numbers, got [${scale}]`);
  const f = Math.min(long / Math.max(width, height), short / Math.min(width, height));
  const w = Math.max(1, Math.floor(width * f + 0.5));
  const h = Math.max(1, Math.floor(height * f + 0.5));
  return { width: w, height: h, scaleX: w / width, scaleY: h / height };
}

/**
 * Bilinear resize with half-pixel centres (OpenCV's INTER_LINEAR and `tf.image.resizeBilinear(...,
 * halfPixelCenters=true)`): output pixel (i, j) samples the source at ((j + 0.5) / sx - 0.5, (i + 0.5) / sy - 0.5),
 * clamped to the border. `src: [h, w, 3]` (any 0..255 array) -> `Float32Array [newH, newW, 3]`.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  width: number,
  height: number,
  newWidth: number,
  newHeight: number,
): Float32Array {
  const out = new Float32Array(newWidth * newHeight * 3);
  if (newWidth === width && newHeight === height) {
    for (let i = 0; i < out.length; i++) out[i] = src[i]!;
    return out;
  }
  const sx = width / newWidth;
  const sy = height / newHeight;
  const x0s = new Int32Array(newWidth);
  const x1s = new Int32Array(newWidth);
  const fxs = new Float32Array(newWidth);
  for (let j = 0; j < newWidth; j++) {
    const x = Math.min(width - 1, Math.max(0, (j + 0.5) * sx - 0.5));
    x0s[j] = Math.floor(x);
    x1s[j] = Math.min(width - 1, x0s[j]! + 1);
    fxs[j] = x - x0s[j]!;
  }
  for (let i = 0; i < newHeight; i++) {
    const y = Math.min(height - 1, Math.max(0, (i + 0.5) * sy - 0.5));
    const y0 = Math.floor(y);
    const y1 = Math.min(height - 1, y0 + 1);
    const fy = y - y0;
    for (let j = 0; j < newWidth; j++) {
      const fx = fxs[j]!;
      const a = (y0 * width + x0s[j]!) * 3;
      const b = (y0 * width + x1s[j]!) * 3;
      const c = (y1 * width + x0s[j]!) * 3;
      const d = (y1 * width + x1s[j]!) * 3;
      const o = (i * newWidth + j) * 3;
      for (let k = 0; k < 3; k++) {
        const top = src[a + k]! + (src[b + k]! - src[a + k]!) * fx;
        const bot = src[c + k]! + (src[d + k]! - src[c + k]!) * fx;
        out[o + k] = top + (bot - top) * fy;
      }
    }
  }
  return out;
}

/** Multiplies boxes `[n, 4]` xyxy by (scaleX, scaleY), in place; returns them. */
export function scaleBoxesXyxy(boxes: Float32Array, scaleX: number, scaleY: number): Float32Array {
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = boxes[i]! * scaleX;
    boxes[i + 1] = boxes[i + 1]! * scaleY;
    boxes[i + 2] = boxes[i + 2]! * scaleX;
    boxes[i + 3] = boxes[i + 3]! * scaleY;
  }
  return boxes;
}

/** Mirrors an `[H, W, 3]` image left-right, in place. */
export function flipImageHorizontal(data: Float32Array, width: number, height: number): Float32Array {
  for (let i = 0; i < height; i++) {
    for (let j = 0, k = width - 1; j < k; j++, k--) {
      const a = (i * width + j) * 3;
      const b = (i * width + k) * 3;
      for (let c = 0; c < 3; c++) {
        const t = data[a + c]!;
        data[a + c] = data[b + c]!;
        data[b + c] = t;
      }
    }
  }
  return data;
}

/**
 * Mirrors boxes `[n, 4]` xyxy in an image of `width` pixels, in place: x1' = W - x2, x2' = W - x1
 * (continuous coordinates, so no "-1"; mmdetection's `bbox_flip` does the same).
 */
export function flipBoxesXyxy(boxes: Float32Array, width: number): Float32Array {
  for (let i = 0; i < boxes.length; i += 4) {
    const x1 = boxes[i]!;
    boxes[i] = width - boxes[i + 2]!;
    boxes[i + 2] = width - x1;
  }
  return boxes;
}

/** `(x - mean) / std` per RGB channel of an `[H, W, 3]` image, in place. */
export function normalizeImage(
  data: Float32Array,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
): Float32Array {
  const inv = std.map((s) => 1 / s);
  for (let i = 0; i < data.length; i += 3) {
    for (let c = 0; c < 3; c++) data[i + c] = (data[i + c]! - mean[c]!) * inv[c]!;
  }
  return data;
}

/** The smallest multiple of `divisor` >= `size` (mmdetection's `Pad(size_divisor=32)`). */
export function padToDivisor(size: number, divisor: number): number {
  return Math.ceil(size / divisor) * divisor;
}

/**
 * Copies an `[h, w, 3]` image into slot `b` of a batch buffer `[B, H, W, 3]` at the top-left corner; the
 * rest of the slot is left as it is (zeros in a fresh buffer: mmdetection pads the normalised image with 0).
 */
export function padInto(
  batch: Float32Array,
  b: number,
  batchHeight: number,
  batchWidth: number,
  image: Float32Array,
  width: number,
  height: number,
): void {
  if (width > batchWidth || height > batchHeight) {
    throw new Error(
      `padInto: image ${width}x${height} does not fit the batch shape ${batchWidth}x${batchHeight} (W x H); ` +
        `is the fixed pad shape smaller than the resize scale?`,
    );
  }
  const base = b * batchHeight * batchWidth * 3;
  for (let i = 0; i < height; i++) {
    batch.set(image.subarray(i * width * 3, (i + 1) * width * 3), base + i * batchWidth * 3);
  }
}

/**
 * Maps boxes `[n, 4]` xyxy predicted in a transformed input back to original-image pixels, in place:
 * un-flip (in the resized image of width `inputWidth`) when `flipped`, then divide by the scale factors.
 */
export function boxesToOriginal(
  boxes: Float32Array,
  scaleFactor: readonly [number, number],
  flipped: boolean,
  inputWidth: number,
): Float32Array {
  if (flipped) flipBoxesXyxy(boxes, inputWidth);
  return scaleBoxesXyxy(boxes, 1 / scaleFactor[0], 1 / scaleFactor[1]);
}

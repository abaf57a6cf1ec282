/**
 * Single-image input preparation for `RetinaNet.detect`, with the data pipeline's own transforms
 * (`src/data/transforms.ts`) so that inference sees exactly what training saw: keep-ratio resize within
 * `img_scale` (bilinear, half-pixel centres), normalise `(pixel - mean) / std` with RGB 0..255 constants, pad
 * bottom/right with zeros to a multiple of `size_divisor`.
 *
 * Inputs (coco-ssd's, plus raw pixels): a `[H, W, 3]` tensor, raw RGB or RGBA pixels (`ImageData` is one:
 * `{ data, width, height }` with 4 values per pixel), or an image, canvas or video element or an
 * `ImageBitmap`, read with `tf.browser.fromPixels`, which is only called in a browser or a worker.
 *
 * Imported models follow their framework: `type: 'torchvision'` sizes the image as torchvision's
 * `GeneralizedRCNNTransform` (see {@link resizedSize}; it normalises 0-1 images with the ImageNet mean/std
 * before a bilinear `F.interpolate(align_corners=False)`, the same result up to float rounding as resizing first
 * and normalising with the 0..255 constants), and `to_rgb: false` hands the network BGR.
 */
import * as tf from '@tensorflow/tfjs-core';
import { keepRatioSize, normalizeImage, padInto, padToDivisor, resizeBilinear } from '../data/transforms.js';
import type { PreprocessConfig } from './config.js';

/** Raw pixels, row-major, RGB or RGBA (alpha dropped), 0..255; a browser `ImageData` is one. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA, e.g. `ImageData`). Default: whichever `data.length` matches. */
  channels?: 3 | 4;
}

/** Browser images, read with `tf.browser.fromPixels`. */
export type BrowserImage = HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap;

/** Everything `detect` accepts: a `[H, W, 3]` RGB tensor (uint8 or float 0..255), raw pixels, or a browser image. */
export type ImageInput = tf.Tensor3D | RawImage | ImageData | BrowserImage;

/** Geometry of a prepared image. */
export interface ImageMeta {
  /** `[height, width]` of the image as given. */
  originalSize: [number, number];
  /** `[height, width]` after the resize: the valid area of the network input. */
  resizedSize: [number, number];
  /** `[height, width]` of the padded network input. */
  paddedSize: [number, number];
  /** `[scaleY, scaleX]` = resized / original; original box = input box / scale. */
  scale: [number, number];
}

/**
 * `[height, width]` after the resize: mmdetection's keep ratio within (long edge, short edge) = `img_scale`, or
 * stretch; with `type: 'torchvision'`, torchvision's `scale = min(min_size / short side, max_size / long side)`
 * (`img_scale` = [max_size, min_size]) in float32 as PyTorch evaluates `float / tensor`, i.e.
 * `reciprocal(side) * size` (480 rows at min_size 800: 1.6666667461, not 1.6666666269), and each side
 * `floor(side * scale)`.
 */
export function resizedSize(height: number, width: number, cfg: PreprocessConfig): [number, number] {
  const [longEdge, shortEdge] = cfg.img_scale;
  if (cfg.type === 'torchvision') {
    const f = Math.fround;
    const scale = Math.min(
      f(f(1 / Math.min(height, width)) * shortEdge),
      f(f(1 / Math.max(height, width)) * longEdge),
    );
    return [Math.floor(height * scale), Math.floor(width * scale)];
  }
  if (!cfg.keep_ratio) return [shortEdge, longEdge];
  const r = keepRatioSize(width, height, cfg.img_scale);
  return [r.height, r.width];
}

/**
 * @param image see {@link ImageInput}.
 * @returns `input: [1, Hp, Wp, 3]` normalised float32 (caller disposes) and its {@link ImageMeta}.
 */
export function prepareImage(
  image: ImageInput,
  cfg: PreprocessConfig,
): { input: tf.Tensor4D; meta: ImageMeta } {
  const { rgb, height: h, width: w } = toRgbArray(image);
  const [rh, rw] = resizedSize(h, w, cfg);
  const [ph, pw] = [padToDivisor(rh, cfg.size_divisor), padToDivisor(rw, cfg.size_divisor)];
  const pixels = resizeBilinear(rgb, w, h, rw, rh);
  if (cfg.to_rgb === false) swapRedBlue(pixels);
  const resized = normalizeImage(pixels, cfg.mean, cfg.std);
  const batch = new Float32Array(ph * pw * 3);
  padInto(batch, 0, ph, pw, resized, rw, rh);
  const meta: ImageMeta = {
    originalSize: [h, w],
    resizedSize: [rh, rw],
    paddedSize: [ph, pw],
    scale: [rh / h, rw / w],
  };
  return { input: tf.tensor4d(batch, [1, ph, pw, 3]), meta };
}

/** RGB <-> BGR of an `[H, W, 3]` image, in place. */
function swapRedBlue(data: Float32Array): void {
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i]!;
    data[i] = data[i + 2]!;
    data[i + 2] = r;
  }
}

function isRawImage(image: object): image is RawImage {
  const d = (image as { data?: unknown }).data;
  return ArrayBuffer.isView(d) && typeof (image as RawImage).width === 'number';
}

const inBrowser = () => typeof document !== 'undefined' || typeof OffscreenCanvas !== 'undefined';

function toRgbArray(image: ImageInput): {
  rgb: ArrayLike<number>;
  height: number;
  width: number;
} {
  if (image instanceof tf.Tensor) {
    if (image.rank !== 3 || image.shape[2] !== 3) {
      throw new Error(`image has shape [${image.shape}], expected [H, W, 3] RGB`);
    }
    return { rgb: image.dataSync(), height: image.shape[0], width: image.shape[1] };
  }
  if (image === null || typeof image !== 'object') {
    throw new Error(
      `image is ${String(image)}, expected a [H, W, 3] tensor, ImageData, {data, width, height} pixels or an image element`,
    );
  }
  if (!isRawImage(image)) {
    if (!inBrowser()) {
      throw new Error(
        `image is a ${image.constructor?.name ?? typeof image} without pixel data; outside a browser pass a ` +
          `[H, W, 3] tensor or {data, width, height} pixels`,
      );
    }
    const t = tf.browser.fromPixels(image as BrowserImage, 3);
    try {
      return { rgb: t.dataSync(), height: t.shape[0], width: t.shape[1] };
    } finally {
      t.dispose();
    }
  }
  const n = image.width * image.height;
  const c = image.channels ?? (image.data.length === n * 4 ? 4 : 3);
  if (image.data.length !== n * c) {
    throw new Error(
      `image.data has ${image.data.length} values, expected width * height * channels = ` +
        `${image.width} * ${image.height} * ${c}` +
        (image.channels === undefined ? ' (or * 4 for RGBA)' : '; pass channels: 4 for RGBA pixels'),
    );
  }
  if (c === 3) return { rgb: image.data, height: image.height, width: image.width };
  const rgb = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = image.data[4 * i]!;
    rgb[3 * i + 1] = image.data[4 * i + 1]!;
    rgb[3 * i + 2] = image.data[4 * i + 2]!;
  }
  return { rgb, height: image.height, width: image.width };
}

/**
 * Single-image input preparation for `RetinaNet.detect` (mmdetection test pipeline): resize (keep ratio within
 * `img_scale`), normalise `(pixel - mean) / std` with RGB 0..255 constants, pad bottom/right with zeros to a
 * multiple of `size_divisor`.
 */
import * as tf from '@tensorflow/tfjs';
import type { PreprocessConfig } from './config.js';

/** Raw pixels, row-major, RGB or RGBA (alpha dropped), 0..255. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  /** 3 (RGB, default) or 4 (RGBA, e.g. a browser `ImageData`). */
  channels?: 3 | 4;
}

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

/** Size after mmdetection's resize: keep ratio within (long edge, short edge) = `img_scale`, or stretch. */
export function resizedSize(height: number, width: number, cfg: PreprocessConfig): [number, number] {
  const [longEdge, shortEdge] = cfg.img_scale;
  if (!cfg.keep_ratio) return [shortEdge, longEdge];
  const s = Math.min(longEdge / Math.max(height, width), shortEdge / Math.min(height, width));
  return [Math.max(1, Math.round(height * s)), Math.max(1, Math.round(width * s))];
}

/**
 * @param image `[H, W, 3]` RGB (uint8 or float 0..255) tensor, or raw pixels.
 * @returns `input: [1, Hp, Wp, 3]` normalised float32 (caller disposes) and its {@link ImageMeta}.
 */
export function prepareImage(
  image: tf.Tensor3D | RawImage,
  cfg: PreprocessConfig,
): { input: tf.Tensor4D; meta: ImageMeta } {
  const [h, w] = image instanceof tf.Tensor ? [image.shape[0], image.shape[1]] : [image.height, image.width];
  const [rh, rw] = resizedSize(h, w, cfg);
  const d = cfg.size_divisor;
  const [ph, pw] = [Math.ceil(rh / d) * d, Math.ceil(rw / d) * d];
  const input = tf.tidy(() => {
    const rgb = toRgbTensor(image);
    const resized = rh === h && rw === w ? rgb : tf.image.resizeBilinear(rgb, [rh, rw]);
    const normalised = tf.div(tf.sub(resized, tf.tensor1d(cfg.mean)), tf.tensor1d(cfg.std));
    const padded = tf.pad(normalised, [
      [0, ph - rh],
      [0, pw - rw],
      [0, 0],
    ]);
    return tf.expandDims(padded, 0) as tf.Tensor4D;
  });
  const meta: ImageMeta = {
    originalSize: [h, w],
    resizedSize: [rh, rw],
    paddedSize: [ph, pw],
    scale: [rh / h, rw / w],
  };
  return { input, meta };
}

function toRgbTensor(image: tf.Tensor3D | RawImage): tf.Tensor3D {
  if (image instanceof tf.Tensor) {
    if (image.rank !== 3 || image.shape[2] !== 3) {
      throw new Error(`image has shape [${image.shape}], expected [H, W, 3] RGB`);
    }
    return tf.cast(image, 'float32');
  }
  const c = image.channels ?? 3;
  if (image.data.length !== image.width * image.height * c) {
    throw new Error(
      `image.data has ${image.data.length} values, expected width * height * channels = ` +
        `${image.width} * ${image.height} * ${c}; pass channels: 4 for RGBA pixels`,
    );
  }
  const t = tf.tensor3d(Float32Array.from(image.data), [image.height, image.width, c]);
  return c === 3 ? t : tf.slice(t, [0, 0, 0], [image.height, image.width, 3]);
}

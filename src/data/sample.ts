/**
 * One training sample's transforms and the batch they are padded into, shared by the file loader
 * (`./loader.ts`) and in-memory data (the shapes generator in a page): pure functions over typed arrays, no
 * file system, no codec.
 *
 * Per image: keep-ratio resize (optional) -> horizontal flip -> normalise; per batch: copy each image into a
 * zero-padded `[B, H, W, 3]` buffer (bottom/right padding, so boxes do not move).
 */
import type { DatasetImage } from './dataset.js';
import {
  flipBoxesXyxy,
  flipImageHorizontal,
  keepRatioSize,
  normalizeImage,
  padInto,
  padToDivisor,
  resizeBilinear,
  scaleBoxesXyxy,
} from './transforms.js';

/** A decoded image: `data: Uint8Array [height, width, 3]` row-major RGB, values 0..255. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** What {@link transformSample} needs of the loader's options. */
export interface SampleTransformOptions {
  /** Keep-ratio resize scale [long, short] (see `keepRatioSize`), or null for none. */
  resizeScale: [number, number] | null;
  /** RGB mean and std of the normalisation (0..255 units). */
  mean: [number, number, number];
  std: [number, number, number];
}

/** One transformed image: `data: Float32Array [height, width, 3]` normalised, and its boxes `[n, 4]` xyxy. */
export interface TransformedSample {
  data: Float32Array;
  width: number;
  height: number;
  boxes: Float32Array;
  labels: Int32Array;
  ignore: Uint8Array;
  scaleX: number;
  scaleY: number;
}

/** resize -> flip -> normalise for one decoded image and its annotations (padding is done per batch). */
export function transformSample(
  image: RgbImage,
  record: DatasetImage,
  flip: boolean,
  o: SampleTransformOptions,
): TransformedSample {
  const size = o.resizeScale
    ? keepRatioSize(image.width, image.height, o.resizeScale)
    : { width: image.width, height: image.height, scaleX: 1, scaleY: 1 };
  const data = resizeBilinear(image.data, image.width, image.height, size.width, size.height);
  const n = record.annotations.length;
  const boxes = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  const ignore = new Uint8Array(n);
  record.annotations.forEach((a, k) => {
    boxes.set(a.bboxXyxy, k * 4);
    labels[k] = a.classIndex;
    ignore[k] = a.iscrowd || a.difficult === true ? 1 : 0;
  });
  scaleBoxesXyxy(boxes, size.scaleX, size.scaleY);
  if (flip) {
    flipImageHorizontal(data, size.width, size.height);
    flipBoxesXyxy(boxes, size.width);
  }
  normalizeImage(data, o.mean, o.std);
  return {
    data,
    width: size.width,
    height: size.height,
    boxes,
    labels,
    ignore,
    scaleX: size.scaleX,
    scaleY: size.scaleY,
  };
}

/** A batch of transformed samples: images zero-padded to one size, with their ground truth. */
export interface CollatedSamples {
  /** `[B, H, W, 3]` float32, normalised RGB, zero at the padding (bottom/right). */
  images: Float32Array;
  shape: [number, number, number, number];
  /** Per image: `[n_i, 4]` xyxy in input pixels. */
  gtBoxes: Float32Array[];
  /** Per image: `[n_i]` class indices. */
  gtLabels: Int32Array[];
  /** Per image: `[n_i]`, 1 for boxes to ignore in training. */
  gtIgnore: Uint8Array[];
}

/**
 * Pads `samples` into one batch: to `padShape` `[H, W]` when given (it must hold every sample), else to the
 * largest height and width rounded up to a multiple of `sizeDivisor`.
 */
export function collateSamples(
  samples: TransformedSample[],
  sizeDivisor: number,
  padShape: [number, number] | null = null,
): CollatedSamples {
  let H: number;
  let W: number;
  if (padShape !== null) [H, W] = padShape;
  else {
    H = padToDivisor(Math.max(...samples.map((s) => s.height)), sizeDivisor);
    W = padToDivisor(Math.max(...samples.map((s) => s.width)), sizeDivisor);
  }
  const B = samples.length;
  const images = new Float32Array(B * H * W * 3);
  samples.forEach((s, k) => padInto(images, k, H, W, s.data, s.width, s.height));
  return {
    images,
    shape: [B, H, W, 3],
    gtBoxes: samples.map((s) => s.boxes),
    gtLabels: samples.map((s) => s.labels),
    gtIgnore: samples.map((s) => s.ignore),
  };
}

/**
 * `ResizeNearestNeighborGrad` for the cpu backend, replacing the stock kernel of tfjs 4.22, which reads the
 * upstream gradient of image b at offset `b * H_in * W_in * C` (the *input's* batch stride) instead of
 * `b * H_out * W_out * C`. Every image after the first therefore gets the gradient of a slice of image 0's
 * (or a later image's) gradient, so the FPN top-down pathway (`tf.image.resizeNearestNeighbor` in `fpn.ts`)
 * trains on wrong gradients whenever the batch holds more than one image. The wasm kernel is correct.
 *
 * Semantics (tfjs's forward `ResizeNearestNeighbor` without half-pixel centres, the only case tfjs's gradient
 * supports): output pixel (r, c) of an [h, w] -> [H, W] resize copies input pixel
 *   (min(h - 1, f(r * hs)), min(w - 1, f(c * ws))),  f = round if alignCorners else floor,
 *   hs = (alignCorners && H > 1 ? h - 1 : h) / (alignCorners && H > 1 ? H - 1 : H), ws likewise,
 * so the gradient scatters each dy pixel onto that input pixel: dx[b, i, j, d] = sum of dy[b, r, c, d] over
 * the (r, c) that copy (i, j). Sums run in float64 and are rounded once per element.
 */
import * as tf from '@tensorflow/tfjs-core';
import { markProjectKernel, readValues } from './kernelTensors.js';

/** dx [B, h, w, C] of a nearest-neighbour resize of `imagesShape` [B, h, w, C] for `dy` [B, H, W, C]. */
export function resizeNearestNeighborGradValues(
  dy: ArrayLike<number>,
  imagesShape: readonly [number, number, number, number],
  dyShape: readonly [number, number, number, number],
  alignCorners: boolean,
): Float32Array {
  const [batch, xHeight, xWidth, depth] = imagesShape;
  const [dyBatch, yHeight, yWidth, dyDepth] = dyShape;
  if (dyBatch !== batch || dyDepth !== depth) {
    throw new Error(
      `ResizeNearestNeighborGrad: dy has shape [${dyShape}], expected [${batch}, H, W, ${depth}] ` +
        `(the batch and channels of images [${imagesShape}])`,
    );
  }
  const effX = (n: number, out: number) => (alignCorners && out > 1 ? n - 1 : n);
  const effY = (n: number) => (alignCorners && n > 1 ? n - 1 : n);
  const heightScale = effX(xHeight, yHeight) / effY(yHeight);
  const widthScale = effX(xWidth, yWidth) / effY(yWidth);
  const nearest = (v: number, size: number) =>
    Math.min(size - 1, alignCorners ? Math.round(v) : Math.floor(v));
  const srcCol = new Int32Array(yWidth);
  for (let c = 0; c < yWidth; c++) srcCol[c] = nearest(c * widthScale, xWidth);
  const sums = new Float64Array(batch * xHeight * xWidth * depth);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < yHeight; r++) {
      const sr = nearest(r * heightScale, xHeight);
      for (let c = 0; c < yWidth; c++) {
        const src = ((b * yHeight + r) * yWidth + c) * depth;
        const dst = ((b * xHeight + sr) * xWidth + srcCol[c]!) * depth;
        for (let d = 0; d < depth; d++) sums[dst + d]! += dy[src + d]!;
      }
    }
  }
  return Float32Array.from(sums);
}

/** The part of the cpu backend this kernel uses. */
interface TensorInfoMaker {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** The kernel config of `ResizeNearestNeighborGrad` for `backendName` (the cpu backend). */
export function resizeNearestNeighborGradConfig(backendName: string): tf.KernelConfig {
  const kernelFunc = markProjectKernel(({ inputs, backend, attrs }) => {
    const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
    const { alignCorners } = attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
    if (images.shape.length !== 4 || dy.shape.length !== 4) {
      throw new Error(
        `ResizeNearestNeighborGrad on ${backendName}: images and dy must be rank 4 [B, H, W, C]; ` +
          `got [${images.shape}] and [${dy.shape}]`,
      );
    }
    const dx = resizeNearestNeighborGradValues(
      readValues(backend as unknown as tf.KernelBackend, dy),
      images.shape as [number, number, number, number],
      dy.shape as [number, number, number, number],
      alignCorners,
    );
    return (backend as unknown as TensorInfoMaker).makeTensorInfo(images.shape, 'float32', dx);
  });
  return { kernelName: 'ResizeNearestNeighborGrad', backendName, kernelFunc };
}

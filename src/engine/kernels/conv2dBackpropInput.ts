/**
 * `Conv2DBackpropInput` (the input gradient dX of a 2-D convolution) as one fast forward convolution.
 *
 * The wasm backend's stock kernel is a naive loop (1.6-1.9 GFLOP/s against 15-22 for XNNPACK's forward
 * conv). This kernel rewrites dX as a forward convolution of dy ("sub-pixel" or phase decomposition):
 *
 * Forward (NHWC, filter [kh, kw, Cin, Cout], strides sH/sW, TF padding top/left):
 *   y[n, p, q, o] = sum over i, j, c of xpad[n, p*sH + i, q*sW + j, c] * w[i, j, c, o].
 * Hence, for an input row a with A = a + top = sH*m + r (phase r in [0, sH)), and likewise for columns:
 *   dX[n, a, b, c] = sum over t, u, o of dy[n, m - t, m' - u, o] * w[r + sH*t, r' + sW*u, c, o].
 * For every phase this is a correlation of dy with TH = ceil(kh / sH) by TW = ceil(kw / sW) taps, so all
 * sH*sW phases are one valid convolution of dy (zero-padded) with the filter
 *   K[ty, tx, o, (r, r', c)] = w[r + sH*(TH-1-ty), r' + sW*(TW-1-tx), c, o]   (0 when out of range),
 * of shape [TH, TW, Cout, sH*sW*Cin], followed by an interleave of the phases:
 *   [N*M, M', sH, sW*Cin] -> transpose [0, 2, 1, 3] -> [N, M*sH, M'*sW, Cin].
 * The whole-stride part q = floor(top / sH) of the padding is absorbed into dy's padding; the remainder
 * top mod sH (0 for stride 1 and for 'same' on even sizes) is cropped off at the end.
 * Stride 1 needs no interleave: K is the spatially flipped filter with in/out channels swapped. The filter
 * K is built in JS from the filter's values (at most a few hundred thousand floats; `tf.reverse` is slower).
 * Cost: TH*TW*sH*sW / (kh*kw) times the forward FLOPs (1 for stride 1, 16/9 for 3x3 stride 2).
 *
 * Configurations it does not cover ('NCHW', non-float32, padding wider than the filter) run the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import {
  conv2dInfoNhwc,
  kernelConfig,
  markProjectKernel,
  readValues,
  runOnTensors,
} from './kernelTensors.js';

/** Geometry of the phase decomposition; null when the configuration is not covered. */
interface PhasePlan {
  /** Taps per phase, rows and columns. */
  th: number;
  tw: number;
  sH: number;
  sW: number;
  /** Explicit padding of dy: top, bottom, left, right (all >= 0). */
  padding: [number, number, number, number];
  /** Offset of dX's first row/column in the interleaved result (top mod sH, left mod sW). */
  offH: number;
  offW: number;
}

function planPhases(
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  dyShape: number[],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): PhasePlan | null {
  const info = conv2dInfoNhwc(inputShape, filterShape, strides, pad, dimRoundingMode);
  const [kh, kw] = filterShape;
  const [, inH, inW] = inputShape;
  const [, h, w] = dyShape as [number, number, number, number];
  const { strideHeight: sH, strideWidth: sW } = info;
  const th = Math.ceil(kh / sH);
  const tw = Math.ceil(kw / sW);
  const offH = info.padInfo.top % sH;
  const offW = info.padInfo.left % sW;
  const padTop = th - 1 - Math.floor(info.padInfo.top / sH);
  const padLeft = tw - 1 - Math.floor(info.padInfo.left / sW);
  if (padTop < 0 || padLeft < 0) return null;
  // Phase rows needed: M = ceil((H + offH) / sH); a valid conv over dy padded by padTop + h + padBottom
  // rows yields padTop + h + padBottom - th + 1 rows. Extra rows (when padBottom would be < 0) are cropped.
  const rowsNeeded = Math.ceil((inH + offH) / sH);
  const colsNeeded = Math.ceil((inW + offW) / sW);
  const padBottom = Math.max(0, rowsNeeded - h - padTop + th - 1);
  const padRight = Math.max(0, colsNeeded - w - padLeft + tw - 1);
  return { th, tw, sH, sW, padding: [padTop, padBottom, padLeft, padRight], offH, offW };
}

/** K[ty, tx, o, (r, r', c)] = w[r + sH*(th-1-ty), r' + sW*(tw-1-tx), c, o], zero out of range. */
function phaseFilter(
  w: Float32Array,
  filterShape: [number, number, number, number],
  plan: PhasePlan,
): tf.Tensor4D {
  const [kh, kw, cin, cout] = filterShape;
  const { th, tw, sH, sW } = plan;
  const outC = sH * sW * cin;
  const k = new Float32Array(th * tw * cout * outC);
  for (let ty = 0; ty < th; ty++) {
    for (let r = 0; r < sH; r++) {
      const i = r + sH * (th - 1 - ty);
      if (i >= kh) continue;
      for (let tx = 0; tx < tw; tx++) {
        for (let rr = 0; rr < sW; rr++) {
          const j = rr + sW * (tw - 1 - tx);
          if (j >= kw) continue;
          const src = (i * kw + j) * cin * cout;
          const phase = (r * sW + rr) * cin;
          for (let o = 0; o < cout; o++) {
            const dst = ((ty * tw + tx) * cout + o) * outC + phase;
            for (let c = 0; c < cin; c++) k[dst + c] = w[src + c * cout + o]!;
          }
        }
      }
    }
  }
  return tf.tensor4d(k, [th, tw, cout, outC]);
}

/**
 * dX of `conv2d(x, W, strides, pad)` for upstream gradient `dy` [N, h, w, Cout], NHWC, as one conv.
 *
 * @param filterValues W's values, layout [kh, kw, Cin, Cout].
 * @returns dX [N, H, W, Cin] = `inputShape`, or null when the configuration is not covered.
 */
export function conv2dInputGradient(
  dy: tf.Tensor4D,
  filterValues: Float32Array,
  filterShape: [number, number, number, number],
  inputShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D | null {
  const plan = planPhases(inputShape, filterShape, dy.shape, strides, pad, dimRoundingMode);
  if (plan === null) return null;
  return tf.tidy(() => {
    const [n, inH, inW, cin] = inputShape;
    const { sH, sW, padding, offH, offW } = plan;
    const k = phaseFilter(filterValues, filterShape, plan);
    const [pt, pb, pl, pr] = padding;
    let z: tf.Tensor4D = tf.conv2d(dy, k, 1, [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ]); // [N, M, M', sH*sW*Cin]
    const [, mh, mw] = z.shape;
    if (sH > 1 || sW > 1) {
      // [N*M, M', sH, sW*Cin] -> transpose [0, 2, 1, 3] -> [N*M, sH, M', sW*Cin] = [N, M*sH, M'*sW, Cin]: phase
      // (r, r') of (m, m') lands on row m*sH + r, column m'*sW + r'. (A 4-D transpose is ~2x faster on wasm
      // than the equivalent 6-D one.)
      const interleaved = tf.transpose(tf.reshape(z, [n * mh, mw, sH, sW * cin]), [0, 2, 1, 3]);
      z = tf.reshape(interleaved, [n, mh * sH, mw * sW, cin]);
    }
    if (offH !== 0 || offW !== 0 || z.shape[1] !== inH || z.shape[2] !== inW) {
      z = tf.slice(z, [0, offH, offW, 0], [n, inH, inW, cin]);
    }
    return z;
  });
}

/**
 * The kernel config of `Conv2DBackpropInput` for `backendName`, falling back to `stock` (the kernel it
 * replaces) for the configurations it does not cover.
 */
export function conv2dBackpropInputConfig(
  backendName: string,
  stock: tf.KernelConfig | undefined,
): tf.KernelConfig {
  const kernelFunc = markProjectKernel((args) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
      attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const filterShape = filter.shape as [number, number, number, number];
    const covered =
      dataFormat !== 'NCHW' &&
      dy.dtype === 'float32' &&
      filter.dtype === 'float32' &&
      planPhases(inputShape, filterShape, dy.shape, strides, pad, dimRoundingMode) !== null;
    if (!covered) {
      if (stock === undefined) {
        throw new Error(
          `Conv2DBackpropInput on ${backendName}: configuration not covered (dataFormat ${dataFormat}, ` +
            `dtype ${dy.dtype}, pad ${JSON.stringify(pad)}) and no stock kernel to fall back to`,
        );
      }
      return stock.kernelFunc(args);
    }
    const kb = backend as tf.KernelBackend;
    const w = readValues(kb, filter);
    return runOnTensors(kb, [dy], (dyt) =>
      conv2dInputGradient(dyt as tf.Tensor4D, w, filterShape, inputShape, strides, pad, dimRoundingMode)!,
    );
  });
  return kernelConfig('Conv2DBackpropInput', backendName, kernelFunc, stock);
}

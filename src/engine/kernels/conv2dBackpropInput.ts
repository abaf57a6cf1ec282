/**
 * `Conv2DBackpropInput` (the input gradient dX of a 2-D convolution) as fast forward convolutions.
 *
 * The wasm backend's stock kernel is a naive loop (1.6-1.9 GFLOP/s against 15-22 for XNNPACK's forward
 * conv). This kernel rewrites dX as forward convolutions of dy, one per output phase ("sub-pixel" or
 * polyphase decomposition):
 *
 * Forward (NHWC, filter [kh, kw, Cin, Cout], strides sH/sW, TF padding top/left):
 *   y[n, p, q, o] = sum over i, j, c of xpad[n, p*sH + i, q*sW + j, c] * w[i, j, c, o],   xpad row = a + top.
 * Split dX's rows into sH phases, a = sH*m + r (r in [0, sH)), and likewise columns, b = sW*m' + r'. A row
 * tap i reaches row a from output row p = m - t exactly when i = sH*t + r + top, so per phase
 *   dX[n, sH*m + r, sW*m' + r', c] = sum over t, t', o of dy[n, m - t, m' - t', o] * w[sH*t + r + top, sW*t' + r' + left, c, o]
 * with t in [tMin, tMax] = the t for which the tap index lies in [0, kh) (and t' likewise). That is a
 * stride-1 'valid' correlation of dy, zero-padded by tMax rows on top, with the filter
 *   K[u, v, o, c] = w[sH*(tMax - u) + r + top, sW*(t'Max - v) + r' + left, c, o]   [T, T', Cout, Cin],
 * T = tMax - tMin + 1 (a phase with T = 0, e.g. the odd rows of a 1x1 stride-2 conv, is zero).
 * The sH*sW phase filters hold each filter tap exactly once, so all the phase convolutions together cost
 * exactly the forward FLOPs. Stride 1 is a single phase: the conv with the spatially flipped filter, in and
 * out channels swapped. For strides > 1 the phase results are interleaved into dX by copies on the wasm heap
 * (contiguous runs of Cin floats), which is far faster there than a transpose, a concat or a depthToSpace.
 * The phase filters are built in JS from the filter's values (at most a few hundred thousand floats;
 * `tf.reverse` is slower).
 *
 * Configurations it does not cover ('NCHW', non-float32) run the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import {
  conv2dInfoNhwc,
  heapFloat32,
  isWasmHeapBackend,
  kernelConfig,
  markProjectKernel,
  readValues,
  runOnTensors,
  type WasmHeapBackend,
} from './kernelTensors.js';

/** One phase r of one spatial axis (rows or columns) of the decomposition. */
interface AxisPhase {
  /** The phase: dX indices a = stride*m + r. */
  r: number;
  /** Number of dX indices in this phase, ceil((size - r) / stride); 0 when size <= r. */
  size: number;
  /** Taps per output (T); 0 when no filter tap reaches this phase. */
  taps: number;
  /** The largest t; tap u of the phase filter is filter index stride*(tMax - u) + r + padBefore. */
  tMax: number;
  /** The dy range the phase reads, [dyBegin, dyBegin + dyLength), and dy's zero padding around it. */
  dyBegin: number;
  dyLength: number;
  padBefore: number;
  padAfter: number;
}

/**
 * The phases of one axis for input size `size`, dy size `dySize`, filter size `k`, stride `s` and the
 * forward conv's padding before the first element `before`.
 */
function axisPhases(size: number, dySize: number, k: number, s: number, before: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let r = 0; r < s; r++) {
    const count = Math.max(0, Math.ceil((size - r) / s));
    // Filter index i = s*t + r + before must lie in [0, k).
    const tMin = Math.ceil(-(r + before) / s);
    const tMax = Math.floor((k - 1 - r - before) / s);
    // Output m reads dy[m - tMax .. m - tMin]: over all m, dy[lo .. hi], of which dy holds [0, dySize).
    const lo = -tMax;
    const hi = count - 1 - tMin;
    const dyBegin = Math.max(0, lo);
    const dyEnd = Math.min(dySize - 1, hi);
    const empty = count === 0 || tMax < tMin || dyBegin > dyEnd;
    phases.push({
      r,
      size: count,
      taps: empty ? 0 : tMax - tMin + 1,
      tMax,
      dyBegin,
      dyLength: empty ? 0 : dyEnd - dyBegin + 1,
      padBefore: Math.max(0, -lo),
      padAfter: Math.max(0, hi - (dySize - 1)),
    });
  }
  return phases;
}

/** K[u, v, o, c] = w[sH*(tMax - u) + r + top, sW*(t'Max - v) + r' + left, c, o]: [T, T', Cout, Cin]. */
function phaseFilter(
  w: Float32Array,
  filterShape: [number, number, number, number],
  rows: AxisPhase,
  cols: AxisPhase,
  strides: [number, number],
  top: number,
  left: number,
): tf.Tensor4D {
  const [, kw, cin, cout] = filterShape;
  const [sH, sW] = strides;
  const k = new Float32Array(rows.taps * cols.taps * cout * cin);
  for (let u = 0; u < rows.taps; u++) {
    const i = sH * (rows.tMax - u) + rows.r + top;
    for (let v = 0; v < cols.taps; v++) {
      const j = sW * (cols.tMax - v) + cols.r + left;
      const src = (i * kw + j) * cin * cout;
      const dst = (u * cols.taps + v) * cout * cin;
      for (let o = 0; o < cout; o++) {
        for (let c = 0; c < cin; c++) k[dst + o * cin + c] = w[src + c * cout + o]!;
      }
    }
  }
  return tf.tensor4d(k, [rows.taps, cols.taps, cout, cin]);
}

/**
 * One phase of dX: the valid stride-1 convolution of (cropped and zero-padded) dy with the phase filter.
 *
 * @returns [N, rows.size, cols.size, Cin], or null when the phase is zero.
 */
function phaseGradient(
  dy: tf.Tensor4D,
  w: Float32Array,
  filterShape: [number, number, number, number],
  rows: AxisPhase,
  cols: AxisPhase,
  strides: [number, number],
  top: number,
  left: number,
): tf.Tensor4D | null {
  if (rows.taps === 0 || cols.taps === 0) return null;
  const [n, h, wd, cout] = dy.shape;
  let src = dy;
  if (rows.dyBegin !== 0 || cols.dyBegin !== 0 || rows.dyLength !== h || cols.dyLength !== wd) {
    src = tf.slice(dy, [0, rows.dyBegin, cols.dyBegin, 0], [n, rows.dyLength, cols.dyLength, cout]);
  }
  const k = phaseFilter(w, filterShape, rows, cols, strides, top, left);
  return tf.conv2d(src, k, 1, [
    [0, 0],
    [rows.padBefore, rows.padAfter],
    [cols.padBefore, cols.padAfter],
    [0, 0],
  ]);
}

/**
 * Writes the phases into dX on the wasm heap: dX[n, sH*m + r, sW*m' + r', :] = phase(r, r')[n, m, m', :].
 * Zero phases (null) leave zeros.
 */
function interleavePhases(
  backend: WasmHeapBackend,
  phases: { rows: AxisPhase; cols: AxisPhase; value: tf.Tensor4D | null }[],
  outShape: [number, number, number, number],
  strides: [number, number],
): tf.TensorInfo {
  const [n, outH, outW, cin] = outShape;
  const [sH, sW] = strides;
  const out = backend.makeOutput(outShape, 'float32');
  const [heap, dst0] = heapFloat32(backend, out);
  if (phases.some((p) => p.value === null)) heap.fill(0, dst0, dst0 + n * outH * outW * cin);
  for (const { rows, cols, value } of phases) {
    if (value === null) continue;
    const src0 = heapFloat32(backend, value)[1];
    const run = sW === 1 ? cols.size * cin : cin; // contiguous floats per copy
    const runsPerRow = sW === 1 ? 1 : cols.size;
    let src = src0;
    for (let b = 0; b < n; b++) {
      for (let m = 0; m < rows.size; m++) {
        let dst = dst0 + ((b * outH + sH * m + rows.r) * outW + cols.r) * cin;
        for (let q = 0; q < runsPerRow; q++) {
          if (run >= 16) {
            heap.copyWithin(dst, src, src + run);
          } else {
            for (let c = 0; c < run; c++) heap[dst + c] = heap[src + c]!;
          }
          src += run;
          dst += sW * cin;
        }
      }
    }
  }
  return out;
}

/**
 * dX of `conv2d(x, W, strides, pad)` for upstream gradient `dy` [N, h, w, Cout], NHWC.
 *
 * @param backend the wasm backend (its heap holds the phases that strides > 1 interleave).
 * @param filterValues W's values, layout [kh, kw, Cin, Cout].
 * @returns dX [N, H, W, Cin] = `inputShape`.
 */
export function conv2dInputGradient(
  backend: WasmHeapBackend,
  dy: tf.Tensor4D,
  filterValues: Float32Array,
  filterShape: [number, number, number, number],
  inputShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = conv2dInfoNhwc(inputShape, filterShape, strides, pad, dimRoundingMode);
    const { top, left } = info.padInfo;
    const s: [number, number] = [info.strideHeight, info.strideWidth];
    const [kh, kw] = filterShape;
    const [, inH, inW] = inputShape;
    const [, h, wd] = dy.shape;
    if (h !== info.outHeight || wd !== info.outWidth || dy.shape[3] !== filterShape[3]) {
      throw new Error(
        `Conv2DBackpropInput: dy has shape [${dy.shape}], expected ` +
          `[${inputShape[0]},${info.outHeight},${info.outWidth},${filterShape[3]}] for x [${inputShape}], ` +
          `filter [${filterShape}], strides ${JSON.stringify(strides)}, pad ${JSON.stringify(pad)}`,
      );
    }
    const rowPhases = axisPhases(inH, h, kh, s[0], top);
    const colPhases = axisPhases(inW, wd, kw, s[1], left);
    const phases = rowPhases.flatMap((rows) =>
      colPhases.map((cols) => ({
        rows,
        cols,
        value: phaseGradient(dy, filterValues, filterShape, rows, cols, s, top, left),
      })),
    );
    if (phases.length === 1) return phases[0]!.value ?? tf.zeros<tf.Rank.R4>(inputShape);
    return tf
      .engine()
      .makeTensorFromTensorInfo(
        interleavePhases(backend, phases, inputShape, s),
        backend as unknown as tf.KernelBackend,
      ) as tf.Tensor4D;
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
      isWasmHeapBackend(backend);
    if (!covered) {
      if (stock === undefined) {
        throw new Error(
          `Conv2DBackpropInput on ${backendName}: configuration not covered (dataFormat ${dataFormat}, ` +
            `dtype ${dy.dtype}) and no stock kernel to fall back to`,
        );
      }
      return stock.kernelFunc(args);
    }
    const kb = backend as unknown as tf.KernelBackend;
    const w = readValues(kb, filter);
    return runOnTensors(kb, [dy], (dyt) =>
      conv2dInputGradient(
        backend,
        dyt as tf.Tensor4D,
        w,
        filterShape,
        inputShape,
        strides,
        pad,
        dimRoundingMode,
      ),
    );
  });
  return kernelConfig('Conv2DBackpropInput', backendName, kernelFunc, stock);
}

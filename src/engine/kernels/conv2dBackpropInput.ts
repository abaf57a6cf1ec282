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
 * With few input channels the column phases of a row phase are stacked into one convolution instead
 * ({@link STACK_COLUMNS_BELOW}); its rows are then whole dX rows.
 * The phase filters are built in JS from the filter's values (at most a few hundred thousand floats;
 * `tf.reverse` is slower).
 *
 * Configurations it does not cover ('NCHW', non-float32) run the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  conv2dInfoNhwc,
  heapFloat32,
  isWasmHeapBackend,
  kernelConfig,
  markProjectKernel,
  runOnTensors,
  type WasmHeapBackend,
} from './kernelTensors.js';

/**
 * Below this many input channels the column phases are stacked into one convolution per row phase
 * (more output channels, whole-row copies), at the cost of the zero taps of the shorter phases (12/9 of
 * the forward FLOPs for 3x3 stride 2): runs of a few floats and convolutions with a few output channels
 * are slow on wasm. Measured for 3x3 stride 2 on [8, 2H, 2W, Cin]: stacking halves dX at Cin 3, ties at 16,
 * and loses 10-20 % from 32 on.
 */
const STACK_COLUMNS_BELOW = 32;

/**
 * A group of phases of one spatial axis (rows or columns) computed by one convolution: a single phase, or
 * (columns only) all of them stacked along the output channels.
 */
interface PhaseGroup {
  /** The phases r (dX indices a = stride*m + r), consecutive from 0 when stacked. */
  rs: number[];
  /** Outputs m per phase, ceil((size - r) / stride) for the group's first r; 0 when size <= r. */
  size: number;
  /** Taps per output (T), over the union of the group's phases; 0 when no filter tap reaches them. */
  taps: number;
  /** The largest t; tap u of the group filter is filter index stride*(tMax - u) + r + padBefore. */
  tMax: number;
  /** The dy range the group reads, [dyBegin, dyBegin + dyLength), and dy's zero padding around it. */
  dyBegin: number;
  dyLength: number;
  padBefore: number;
  padAfter: number;
}

/**
 * The group of phases `rs` of one axis for input size `size`, dy size `dySize`, filter size `k`, stride
 * `s` and the forward conv's padding before the first element `before`.
 */
function phaseGroup(
  rs: number[],
  size: number,
  dySize: number,
  k: number,
  s: number,
  before: number,
): PhaseGroup {
  const count = Math.max(0, Math.ceil((size - rs[0]!) / s));
  let tMin = Infinity;
  let tMax = -Infinity;
  for (const r of rs) {
    // Filter index i = s*t + r + before must lie in [0, k).
    const lo = Math.ceil(-(r + before) / s);
    const hi = Math.floor((k - 1 - r - before) / s);
    if (lo > hi) continue;
    tMin = Math.min(tMin, lo);
    tMax = Math.max(tMax, hi);
  }
  // Output m reads dy[m - tMax .. m - tMin]: over all m, dy[lo .. hi], of which dy holds [0, dySize).
  const lo = -tMax;
  const hi = count - 1 - tMin;
  const dyBegin = Math.max(0, lo);
  const dyEnd = Math.min(dySize - 1, hi);
  const empty = count === 0 || tMax < tMin || dyBegin > dyEnd;
  if (empty) return { rs, size: count, taps: 0, tMax: 0, dyBegin: 0, dyLength: 0, padBefore: 0, padAfter: 0 };
  return {
    rs,
    size: count,
    taps: tMax - tMin + 1,
    tMax,
    dyBegin,
    dyLength: dyEnd - dyBegin + 1,
    padBefore: Math.max(0, -lo),
    padAfter: Math.max(0, hi - (dySize - 1)),
  };
}

/**
 * K[u, v, o, (g, c)] = w[sH*(tMax - u) + r + top, sW*(t'Max - v) + r'_g + left, c, o], 0 where a tap index
 * falls outside the filter: [T, T', Cout, |cols.rs|*Cin], as backend data (no engine tensor; see
 * {@link PhaseFilterCache}).
 */
function phaseFilter(
  backend: WasmHeapBackend,
  filter: FilterSource,
  rows: PhaseGroup,
  cols: PhaseGroup,
  strides: [number, number],
  top: number,
  left: number,
): tf.TensorInfo {
  const [kh, kw, cin, cout] = filter.shape;
  const [sH, sW] = strides;
  const outC = cols.rs.length * cin;
  const info = backend.makeOutput([rows.taps, cols.taps, cout, outC], 'float32');
  // Views after the allocation: growing the heap detaches earlier ones.
  const [heap, k0] = heapFloat32(backend, info);
  const [w, w0] = filter.values();
  heap.fill(0, k0, k0 + rows.taps * cols.taps * cout * outC);
  for (let u = 0; u < rows.taps; u++) {
    const i = sH * (rows.tMax - u) + rows.rs[0]! + top;
    if (i < 0 || i >= kh) continue;
    for (let v = 0; v < cols.taps; v++) {
      cols.rs.forEach((r, g) => {
        const j = sW * (cols.tMax - v) + r + left;
        if (j < 0 || j >= kw) return;
        const from = w0 + (i * kw + j) * cin * cout;
        const dst = k0 + (u * cols.taps + v) * cout * outC + g * cin;
        // K's row o holds w's column o: a transpose of the [Cin, Cout] tap matrix.
        for (let c = 0; c < cin; c++) {
          const row = from + c * cout;
          for (let o = 0; o < cout; o++) heap[dst + o * outC + c] = w[row + o]!;
        }
      });
    }
  }
  return info;
}

/**
 * The phase filters of recent filters, by the filter's data id and the phase geometry, kept as backend data
 * (not engine tensors, so `tf.memory()` does not count them) and freed when evicted. A filter's data never
 * changes under one data id (an updated variable gets a new one), so an entry is never stale. It saves the
 * filter's rebuild and XNNPACK's repacking of it (cached by data id too) when one filter serves several calls
 * in a step: the detector head's convolutions run once per pyramid level with shared weights.
 */
class PhaseFilterCache {
  private readonly entries = new Map<object, Map<string, tf.TensorInfo>>();

  constructor(private readonly capacity: number) {}

  get(backend: WasmHeapBackend, filterId: object, key: string, build: () => tf.TensorInfo): tf.TensorInfo {
    let groups = this.entries.get(filterId);
    if (groups === undefined) {
      groups = new Map();
      this.entries.set(filterId, groups);
      while (this.entries.size > this.capacity) {
        const [oldest, old] = this.entries.entries().next().value as [object, Map<string, tf.TensorInfo>];
        const kb = backend as unknown as tf.KernelBackend;
        for (const info of old.values()) {
          kb.disposeData(info.dataId, true);
          tf.engine().removeDataId(info.dataId, kb);
        }
        this.entries.delete(oldest);
      }
    }
    let info = groups.get(key);
    if (info === undefined) {
      info = build();
      groups.set(key, info);
    }
    return info;
  }
}

/** Filters of about two training steps of a detector (a few dozen convolutions each). */
const phaseFilters = new PhaseFilterCache(96);

/**
 * One group of dX: the valid stride-1 convolution of (cropped and zero-padded) dy with the group filter.
 *
 * @returns [N, rows.size, cols.size, |cols.rs|*Cin], or null when the group is zero.
 */
function phaseGradient(
  backend: WasmHeapBackend,
  dy: tf.Tensor4D,
  filter: FilterSource,
  rows: PhaseGroup,
  cols: PhaseGroup,
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
  const key = [rows.rs, rows.taps, rows.tMax, cols.rs, cols.taps, cols.tMax, strides, top, left].join('|');
  const build = () => phaseFilter(backend, filter, rows, cols, strides, top, left);
  const info = filter.dataId === null ? build() : phaseFilters.get(backend, filter.dataId, key, build);
  // A tensor view of K holding its own reference; disposing it leaves the cached data alive.
  (backend as unknown as tf.KernelBackend).incRef(info.dataId);
  const k = tf.engine().makeTensorFromTensorInfo(info, backend as unknown as tf.KernelBackend) as tf.Tensor4D;
  if (filter.dataId === null) (backend as unknown as tf.KernelBackend).disposeData(info.dataId);
  return tf.conv2d(src, k, 1, [
    [0, 0],
    [rows.padBefore, rows.padAfter],
    [cols.padBefore, cols.padAfter],
    [0, 0],
  ]);
}

/**
 * Where the filter W's values come from: `values()` returns an array and the offset of W in it (a wasm-heap
 * view, read in place), `dataId` keys the phase-filter cache (null: no caching).
 */
interface FilterSource {
  shape: [number, number, number, number];
  dataId: object | null;
  values(): [Float32Array, number];
}

/**
 * Writes the groups into dX on the wasm heap: dX[n, sH*m + r, sW*m' + r', :] = group(r, r')[n, m, m', :]
 * for single phases (runs of Cin floats); a group of all column phases holds whole dX rows in its rows
 * ((m', r', c) is the memory order of a dX row), cut to the row length. Zero groups (null) leave zeros.
 */
function interleavePhases(
  backend: WasmHeapBackend,
  groups: { rows: PhaseGroup; cols: PhaseGroup; value: tf.Tensor4D | null }[],
  outShape: [number, number, number, number],
  strides: [number, number],
): tf.TensorInfo {
  const [n, outH, outW, cin] = outShape;
  const [sH, sW] = strides;
  const out = backend.makeOutput(outShape, 'float32');
  const [heap, dst0] = heapFloat32(backend, out);
  if (groups.some((p) => p.value === null)) heap.fill(0, dst0, dst0 + n * outH * outW * cin);
  for (const { rows, cols, value } of groups) {
    if (value === null) continue;
    const src0 = heapFloat32(backend, value)[1];
    const wholeRows = cols.rs.length === sW;
    // Contiguous floats per copy, copies per dX row, and the source row length.
    const run = wholeRows ? outW * cin : cin;
    const runsPerRow = wholeRows ? 1 : cols.size;
    const srcRow = cols.size * cols.rs.length * cin;
    for (let b = 0; b < n; b++) {
      for (let m = 0; m < rows.size; m++) {
        let src = src0 + (b * rows.size + m) * srcRow;
        let dst = dst0 + ((b * outH + sH * m + rows.rs[0]!) * outW + cols.rs[0]!) * cin;
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
 * @param filter W, layout [kh, kw, Cin, Cout]: its values, and its data id for the phase-filter cache.
 * @returns dX [N, H, W, Cin] = `inputShape`.
 */
export function conv2dInputGradient(
  backend: WasmHeapBackend,
  dy: tf.Tensor4D,
  filter: FilterSource,
  inputShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.Tensor4D {
  return tf.tidy(() => {
    const filterShape = filter.shape;
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
    const phasesOf = (stride: number): number[] => Array.from({ length: stride }, (_, r) => r);
    const rowGroups = phasesOf(s[0]).map((r) => phaseGroup([r], inH, h, kh, s[0], top));
    const stack = inputShape[3] < STACK_COLUMNS_BELOW;
    const colGroups = stack
      ? [phaseGroup(phasesOf(s[1]), inW, wd, kw, s[1], left)]
      : phasesOf(s[1]).map((r) => phaseGroup([r], inW, wd, kw, s[1], left));
    const groups = rowGroups.flatMap((rows) =>
      colGroups.map((cols) => ({
        rows,
        cols,
        value: phaseGradient(backend, dy, filter, rows, cols, s, top, left),
      })),
    );
    const only = groups.length === 1 ? groups[0]! : null;
    if (only !== null && only.cols.size * s[1] === inW) {
      // One group holding whole rows ([N, H, W/sW, sW*Cin] is dX's memory order): nothing to interleave.
      return only.value === null ? tf.zeros<tf.Rank.R4>(inputShape) : tf.reshape(only.value, inputShape);
    }
    return tf
      .engine()
      .makeTensorFromTensorInfo(
        interleavePhases(backend, groups, inputShape, s),
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
    const source: FilterSource = {
      shape: filterShape,
      dataId: filter.dataId,
      values: () => heapFloat32(backend, filter),
    };
    return runOnTensors(kb, [dy], (dyt) =>
      conv2dInputGradient(backend, dyt as tf.Tensor4D, source, inputShape, strides, pad, dimRoundingMode),
    );
  });
  return kernelConfig('Conv2DBackpropInput', backendName, kernelFunc, stock);
}

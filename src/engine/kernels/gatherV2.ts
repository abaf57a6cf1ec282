/**
 * `GatherV2` for the wasm backend, as a plain JS copy loop on the wasm heap.
 *
 * The stock wasm kernel checks every index with `util.assert(cond, () => message)`, allocating a closure per
 * element, before its C++ gather; table look-ups over a million indices (GHM bin weights of every anchor and
 * class) cost ~80 ms each that way. This kernel checks indices in a plain loop and copies the rows in JS
 * (for `batchDims` 0; other calls run the stock kernel).
 *
 * Semantics (tfjs `tf.gather`, batchDims 0): x [outer..., D, inner...], indices int32 of any shape, all in
 * [0, D) on `axis`; out [outer..., indices..., inner...] with out[o, i, s] = x[o, indices[i], s].
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelConfig, markProjectKernel, type WasmHeapBackend } from './kernelTensors.js';

/** The wasm backend as this kernel uses it: heap access and reading the indices. */
type GatherBackend = WasmHeapBackend & { readSync(dataId: tf.DataId): ArrayLike<number> };

/** Kernel config replacing the stock wasm `GatherV2` (`stock`), which stays as the fallback. */
export function gatherV2Config(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = markProjectKernel((args) => {
    const { inputs, backend, attrs } = args;
    const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
    if ((batchDims ?? 0) !== 0 || x.dtype === 'string' || x.dtype === 'complex64')
      return stock.kernelFunc(args);
    const wb = backend as unknown as GatherBackend;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const dimSize = x.shape[ax]!;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, ax));
    const inner = tf.util.sizeFromShape(x.shape.slice(ax + 1));
    const idx = wb.readSync(indices.dataId);
    for (let i = 0; i < idx.length; i++) {
      const v = idx[i]!;
      if (!(v >= 0 && v < dimSize)) {
        throw new Error(`GatherV2: the index value ${v} is not in [0, ${dimSize - 1}]`);
      }
    }
    const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    const out = wb.makeOutput(outShape, x.dtype);
    if (tf.util.sizeFromShape(outShape) === 0) return out;
    const src = wb.typedArrayFromHeap(x);
    const dst = wb.typedArrayFromHeap(out);
    const n = idx.length;
    let k = 0;
    for (let o = 0; o < outer; o++) {
      const base = o * dimSize * inner;
      if (inner === 1) {
        for (let i = 0; i < n; i++) dst[k++] = src[base + idx[i]!]!;
      } else {
        for (let i = 0; i < n; i++) {
          const from = base + idx[i]! * inner;
          dst.set(src.subarray(from, from + inner), k);
          k += inner;
        }
      }
    }
    return out;
  });
  return kernelConfig(stock.kernelName, stock.backendName, kernelFunc, stock);
}

/**
 * `UnsortedSegmentSum` for the wasm backend (tfjs 4.22 has none there), which `tf.gather`'s gradient needs.
 *
 * Semantics (tfjs/TF): x [S, inner...], segmentIds int32 [S]; out [numSegments, inner...] with
 *   out[k, :] = sum over i with segmentIds[i] = k of x[i, :];
 * ids outside [0, numSegments) contribute nothing. Summation runs in index order, in float64 for float32
 * inputs and rounded once per output element.
 */
import * as tf from '@tensorflow/tfjs-core';
import { markProjectKernel } from './kernelTensors.js';

/** The parts of the wasm backend this kernel uses. */
interface WasmHeapBackend {
  readSync(dataId: tf.DataId): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The kernel config of `UnsortedSegmentSum` for the wasm backend. */
export function unsortedSegmentSumConfig(backendName: string): tf.KernelConfig {
  const kernelFunc = markProjectKernel(({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') {
      throw new Error(`UnsortedSegmentSum on ${backendName}: x must be float32 or int32, got ${x.dtype}`);
    }
    if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
      throw new Error(
        `UnsortedSegmentSum on ${backendName}: segmentIds must have shape [${x.shape[0]}] (x's first axis); ` +
          `got [${segmentIds.shape}]`,
      );
    }
    const wb = backend as unknown as WasmHeapBackend;
    const ids = wb.readSync(segmentIds.dataId);
    const values = wb.readSync(x.dataId);
    const inner = tf.util.sizeFromShape(x.shape.slice(1));
    const sums = new Float64Array(numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const k = ids[i]!;
      if (!(k >= 0 && k < numSegments)) continue;
      const src = i * inner;
      const dst = k * inner;
      for (let j = 0; j < inner; j++) sums[dst + j]! += values[src + j]!;
    }
    const out = wb.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
    wb.typedArrayFromHeap(out).set(sums);
    return out;
  });
  return { kernelName: 'UnsortedSegmentSum', backendName, kernelFunc };
}

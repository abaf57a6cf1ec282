/**
 * Bridges between the kernel level (backend `TensorInfo`s) and the op level (`tf.Tensor`s), so that the
 * project's kernels can be composed from fast stock ops.
 *
 * Inside a kernel, the inputs are `TensorInfo`s owned by the caller. Wrapping one as a `tf.Tensor` without
 * taking a reference would let the wrapper's disposal free the caller's data (tfjs then loops in
 * `moveData`/`readSync` until the stack overflows), so every wrapper takes its own reference first
 * (`backend.incRef`). Ops run inside a kernel are not recorded on the gradient tape (tfjs counts kernel depth).
 * Also the small pieces several kernels need: their registration config, and the NHWC convolution geometry.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Marks the kernel functions this project registers, so registration can recognise its own kernels. */
export const PROJECT_KERNEL = Symbol.for('ghmdet.trainingKernel');

/** A kernel function tagged with {@link PROJECT_KERNEL}. */
export function markProjectKernel(fn: tf.KernelFunc): tf.KernelFunc {
  (fn as unknown as Record<symbol, boolean>)[PROJECT_KERNEL] = true;
  return fn;
}

/**
 * The config registering `kernelFunc` as `kernelName` on `backendName`. When it replaces a stock kernel
 * (`stock`), the stock kernel's `setupFunc`/`disposeFunc` are kept: the wasm backend's kernels set up and free
 * their state there, and the stock kernel may still run as the fallback.
 */
export function kernelConfig(
  kernelName: string,
  backendName: string,
  kernelFunc: tf.KernelFunc,
  stock?: tf.KernelConfig,
): tf.KernelConfig {
  const config: tf.KernelConfig = { kernelName, backendName, kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  if (stock?.disposeFunc !== undefined) config.disposeFunc = stock.disposeFunc;
  return config;
}

/** True when `config` is one of this project's kernels. */
export function isProjectKernel(config: tf.KernelConfig | undefined): boolean {
  return (
    config !== undefined && (config.kernelFunc as unknown as Record<symbol, boolean>)[PROJECT_KERNEL] === true
  );
}

/**
 * Runs `fn` on op-level views of kernel inputs and returns its result as a kernel output.
 *
 * @param backend the backend the kernel runs on.
 * @param inputs kernel inputs, in the order `fn` takes them; they stay owned by the caller.
 * @param fn op-level computation; runs inside `tf.tidy`, so its intermediates are freed.
 * @returns the result's `TensorInfo`, holding one backend reference that the engine takes over.
 */
export function runOnTensors(
  backend: tf.KernelBackend,
  inputs: tf.TensorInfo[],
  fn: (...tensors: tf.Tensor[]) => tf.Tensor,
): tf.TensorInfo {
  const engine = tf.engine();
  const out = tf.tidy(() =>
    fn(
      ...inputs.map((info) => {
        backend.incRef(info.dataId);
        return engine.makeTensorFromTensorInfo(info, backend);
      }),
    ),
  );
  // Keep the data alive for the engine, which wraps the returned TensorInfo in the kernel's output tensor.
  backend.incRef(out.dataId);
  const result: tf.TensorInfo = { dataId: out.dataId, shape: out.shape.slice(), dtype: out.dtype };
  out.dispose();
  return result;
}

/** The float32 values of a kernel input, read from its backend (a copy on wasm). */
export function readValues(backend: tf.KernelBackend, info: tf.TensorInfo): Float32Array {
  const values = backend.readSync(info.dataId);
  if (!(values instanceof Float32Array)) {
    throw new Error(`readValues: expected float32 data, got ${info.dtype}`);
  }
  return values;
}

/**
 * The geometry of a 2-D convolution (tfjs `Conv2DInfo`: output size, strides, TF padding) for NHWC input
 * `inputShape` [N, H, W, Cin] and filter `filterShape` [kh, kw, Cin, Cout], without dilation.
 */
export function conv2dInfoNhwc(
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * The parts of the wasm backend that heap-level kernels use (`BackendWasm` is not exported as a type by
 * tfjs): every tensor's data is a block of one `WebAssembly.Memory`, so copies between tensors are
 * `copyWithin` calls on one view of that memory.
 */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** True when `backend` keeps tensor data on a wasm heap ({@link WasmHeapBackend}). */
export function isWasmHeapBackend(backend: unknown): backend is WasmHeapBackend {
  const b = backend as Partial<WasmHeapBackend> | null;
  return typeof b?.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function';
}

/**
 * A float32 view of the whole wasm heap and the element offset of `info`'s data in it. Take it after the
 * last allocation: growing the heap detaches earlier views (data offsets stay valid).
 */
export function heapFloat32(backend: WasmHeapBackend, info: tf.TensorInfo): [Float32Array, number] {
  const view = backend.typedArrayFromHeap(info);
  // `>>> 2` keeps the offset a small integer for the JIT (a division gives a double, and typed-array loops
  // indexed by doubles run an order of magnitude slower).
  return [new Float32Array(view.buffer), view.byteOffset >>> 2];
}

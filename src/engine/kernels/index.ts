/**
 * The project's own training kernels, registered per backend by `setupBackend`.
 *
 * - `wasm`: `Conv2DBackpropFilter` (missing in tfjs 4.22), a fast `Conv2DBackpropInput` (replacing the
 *   stock naive loop, which stays as the fallback for uncovered configurations), and `BatchMatMul` /
 *   `_FusedMatMul` that never multiply transposed operands (the slow path of XNNPACK's matMul); batched
 *   `_FusedMatMul` with a bias, which the stock wasm kernel gets wrong, is computed unfused; and a
 *   `GatherV2` without the stock kernel's per-element closure (table look-ups of the GHM losses), and
 *   `UnsortedSegmentSum` (missing in tfjs 4.22), so `tf.gather` has a gradient on wasm.
 * - `cpu`: `Conv2DBackpropFilter` (replacing the stock one, which is pathologically slow), and
 *   `ResizeNearestNeighborGrad` (the stock one reads the wrong image's gradient for batches of more than one
 *   image, which corrupts the FPN's top-down gradient).
 * - anything else, `tensorflow` (tfjs-node) included: nothing; results there are never changed.
 *
 * The kernels are registered in tfjs's global kernel registry, so stock ops (`tf.conv2d` gradients,
 * `tf.layers` models, `model.fit`) use them too. The op-level BatchNorm with a fused gradient is
 * `batchNormTraining` in `../ops/batchNorm.ts` (gradients are global, kernels are per backend).
 *
 * Registration is idempotent: calling it again for the same backend registers nothing twice.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedMatMulConfig, untransposedMatMulConfig } from './batchMatMul.js';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter.js';
import { conv2dBackpropInputConfig } from './conv2dBackpropInput.js';
import { gatherV2Config } from './gatherV2.js';
import { isProjectKernel } from './kernelTensors.js';
import { resizeNearestNeighborGradConfig } from './resizeNearestNeighborGrad.js';
import { unsortedSegmentSumConfig } from './unsortedSegmentSum.js';

/** Builds the replacement for a kernel from the stock one (undefined when the backend has none). */
type KernelFactory = (backendName: string, stock: tf.KernelConfig | undefined) => tf.KernelConfig | null;

const KERNELS: Record<string, Record<string, KernelFactory>> = {
  wasm: {
    Conv2DBackpropFilter: (backendName) => conv2dBackpropFilterConfig(backendName),
    Conv2DBackpropInput: (backendName, stock) => conv2dBackpropInputConfig(backendName, stock),
    BatchMatMul: (_, stock) => (stock === undefined ? null : untransposedMatMulConfig(stock)),
    _FusedMatMul: (_, stock) => (stock === undefined ? null : fusedMatMulConfig(stock)),
    GatherV2: (_, stock) => (stock === undefined ? null : gatherV2Config(stock)),
    UnsortedSegmentSum: (backendName, stock) =>
      stock === undefined ? unsortedSegmentSumConfig(backendName) : null,
  },
  cpu: {
    Conv2DBackpropFilter: (backendName) => conv2dBackpropFilterConfig(backendName),
    ResizeNearestNeighborGrad: (backendName) => resizeNearestNeighborGradConfig(backendName),
  },
};

/**
 * Registers the project's training kernels for `backendName` (replacing stock kernels where listed).
 *
 * @returns the names of the kernels registered (or already registered) for `backendName`; [] for a backend
 *   that gets none (`tensorflow`, `webgl`, `webgpu`).
 */
export function registerTrainingKernels(backendName: string): string[] {
  const factories = KERNELS[backendName];
  if (factories === undefined) return [];
  const names: string[] = [];
  for (const [kernelName, factory] of Object.entries(factories)) {
    const existing = tf.getKernel(kernelName, backendName) as tf.KernelConfig | undefined;
    if (isProjectKernel(existing)) {
      names.push(kernelName);
      continue;
    }
    const config = factory(backendName, existing);
    if (config === null) continue;
    if (existing !== undefined) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel(config);
    names.push(kernelName);
  }
  return names;
}

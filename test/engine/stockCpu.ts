/**
 * A second cpu backend, `cpu-stock`, holding copies of the cpu backend's stock kernels taken before the
 * project's kernels replace any of them: the reference for the kernel parity tests.
 */
import * as tf from '@tensorflow/tfjs';
import { isProjectKernel } from '../../src/engine/kernels/kernelTensors.js';

export const STOCK_CPU = 'cpu-stock';

/** Registers `cpu-stock` once; must run before `registerTrainingKernels('cpu')` in the process. */
export async function registerStockCpu(): Promise<void> {
  if (tf.findBackendFactory(STOCK_CPU) !== null) return;
  const kernels = tf.getKernelsForBackend('cpu');
  if (kernels.some((k) => isProjectKernel(k))) {
    throw new Error(
      'registerStockCpu: the cpu backend already has project kernels; register the reference first',
    );
  }
  await tf.setBackend('cpu');
  const Ctor = (tf.findBackend('cpu') as object).constructor as new () => tf.KernelBackend;
  tf.registerBackend(STOCK_CPU, () => new Ctor(), -1);
  for (const k of kernels) tf.registerKernel({ ...k, backendName: STOCK_CPU });
}

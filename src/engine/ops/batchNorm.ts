/**
 * Batch normalisation in training mode (batch statistics) with a fused gradient.
 *
 * `tf.batchNorm`'s own gradient broadcasts with `Tile`, which is slow on the wasm backend (docs/engine.md,
 * "Training on wasm", has a measurement). This op computes the same forward result and differentiates it in
 * closed form, with per-channel reductions and broadcast multiplies only.
 *
 * Forward, per channel c over the n = N*H*W positions:
 *   mean_c = sum(x) / n,  var_c = sum((x - mean_c)^2) / n  (biased, as in `tf.moments`),
 *   rstd_c = 1 / sqrt(var_c + epsilon),  x^ = (x - mean_c) * rstd_c,  y = gamma_c * x^ + beta_c.
 * Backward (Ioffe and Szegedy 2015, eq. of the BN backward pass, written in fused form):
 *   dx = gamma_c * rstd_c / n * (n * dy - sum(dy) - x^ * sum(dy * x^)),
 *   dgamma = sum(dy * x^),  dbeta = sum(dy).
 *
 * On the wasm backend both passes run as JS loops over the wasm heap: the per-channel sums of an NHWC tensor
 * over N, H, W are not innermost, so the backend's `Sum`/`Mean` would first transpose the whole tensor (one copy
 * per reduction, four per BatchNorm), and the element-wise steps are a dozen small kernel calls. The heap path
 * reads x once for the sums, once for the centred squares and once to write x^ and y (backward: once for the
 * two sums, once to write dx), accumulates the sums in float64 and rounds every stored value to float32 in the
 * same order as the op path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapFloat32, isWasmHeapBackend, type WasmHeapBackend } from '../kernels/kernelTensors.js';

/** Result of {@link batchNormTraining}. */
export interface BatchNormTrainingResult {
  /** Normalised, scaled and shifted input: [N, H, W, C], same shape as `x`. */
  y: tf.Tensor4D;
  /** Batch mean per channel: [C]. Carries no gradient; meant for running statistics. */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel (divided by N*H*W): [C], >= 0. Carries no gradient. */
  variance: tf.Tensor1D;
}

function checkInputs(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): void {
  if (x.rank !== 4) {
    throw new Error(`batchNormTraining: \`x\` must be rank 4 [N, H, W, C] (NHWC); got shape [${x.shape}]`);
  }
  const c = x.shape[3]!;
  if (gamma.rank !== 1 || gamma.shape[0] !== c) {
    throw new Error(
      `batchNormTraining: \`gamma\` must have shape [${c}] (the channels of x); got [${gamma.shape}]`,
    );
  }
  if (beta.rank !== 1 || beta.shape[0] !== c) {
    throw new Error(
      `batchNormTraining: \`beta\` must have shape [${c}] (the channels of x); got [${beta.shape}]`,
    );
  }
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new Error(`batchNormTraining: \`epsilon\` must be a finite number > 0; got ${epsilon}`);
  }
  if (x.size === 0) {
    throw new Error(
      `batchNormTraining: \`x\` is empty (shape [${x.shape}]); batch statistics need >= 1 value`,
    );
  }
}

/**
 * Batch normalisation over the batch and spatial axes of an NHWC tensor, differentiable in `x`, `gamma`
 * and `beta` through a fused gradient (no `Tile`).
 *
 * @param x input activations [N, H, W, C], float32, any real values.
 * @param gamma scale per channel [C].
 * @param beta shift per channel [C].
 * @param epsilon added to the variance before the square root; > 0. Default 1e-5.
 * @returns `y` [N, H, W, C] (differentiable), and the batch `mean` and biased `variance` [C] (no gradient).
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon = 1e-5,
): BatchNormTrainingResult {
  checkInputs(x, gamma, beta, epsilon);
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  // The statistics are computed inside the forward function (so they are computed once) and kept out of
  // its scope; they are handed back as fresh tensors below so that they belong to the caller's scope.
  let statistics: [tf.Tensor1D, tf.Tensor1D] | null = null;

  const backend = tf.backend();
  const heap = isWasmHeapBackend(backend) && x.dtype === 'float32' ? backend : null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, gammaIn, betaIn, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    let mean: tf.Tensor1D, variance: tf.Tensor1D, rstd: tf.Tensor1D, xHat: tf.Tensor4D, value: tf.Tensor4D;
    if (heap !== null) {
      ({ mean, variance, rstd, xHat, value } = forwardOnHeap(heap, xIn, gammaIn, betaIn, epsilon));
    } else {
      mean = tf.mean(xIn, [0, 1, 2]) as tf.Tensor1D;
      const centred = tf.sub(xIn, mean);
      variance = tf.mean(tf.square(centred), [0, 1, 2]) as tf.Tensor1D;
      rstd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D;
      xHat = tf.mul(centred, rstd) as tf.Tensor4D;
      value = tf.add(tf.mul(xHat, gammaIn), betaIn) as tf.Tensor4D;
    }
    statistics = [tf.keep(mean), tf.keep(variance)];
    save([xHat, rstd, gammaIn]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sHat, sRstd, sGamma] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
        if (heap !== null && dy.dtype === 'float32') {
          return backwardOnHeap(heap, dy as tf.Tensor4D, sHat, sRstd, sGamma);
        }
        const sumDy = tf.sum(dy, [0, 1, 2]);
        const sumDyXHat = tf.sum(tf.mul(dy, sHat), [0, 1, 2]);
        // dx = a * dy + b * x^ + c with per-channel a = gamma * rstd, b = -a * sum(dy * x^) / n,
        // c = -a * sum(dy) / n: three full-size broadcast ops instead of the broadcast-heavy chain rule.
        const a = tf.mul(sGamma, sRstd);
        const b = tf.mul(a, tf.mul(sumDyXHat, -1 / n));
        const c = tf.mul(a, tf.mul(sumDy, -1 / n));
        const dx = tf.add(tf.add(tf.mul(dy, a), tf.mul(sHat, b)), c);
        return [dx, sumDyXHat, sumDy];
      },
    };
  });

  const y = op(x, gamma, beta) as tf.Tensor4D;
  const [keptMean, keptVariance] = statistics as unknown as [tf.Tensor1D, tf.Tensor1D];
  // Fresh copies tracked by the caller's tidy scope; the kept originals are released at once.
  const mean = tf.clone(keptMean);
  const variance = tf.clone(keptVariance);
  keptMean.dispose();
  keptVariance.dispose();
  return { y, mean, variance };
}

/** A float32 output tensor of `shape` on the wasm heap, owned by the current scope. */
function heapOutput(backend: WasmHeapBackend, shape: number[]): tf.Tensor {
  return tf
    .engine()
    .makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32'), backend as unknown as tf.KernelBackend);
}

/** The forward pass of {@link batchNormTraining} as JS loops over the wasm heap (see the file comment). */
function forwardOnHeap(
  backend: WasmHeapBackend,
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { mean: tf.Tensor1D; variance: tf.Tensor1D; rstd: tf.Tensor1D; xHat: tf.Tensor4D; value: tf.Tensor4D } {
  const f = Math.fround;
  const c = x.shape[3];
  const size = x.size;
  const n = size / c;
  const g = gamma.dataSync();
  const b = beta.dataSync();
  const xHat = heapOutput(backend, x.shape) as tf.Tensor4D;
  const value = heapOutput(backend, x.shape) as tf.Tensor4D;
  // Views after the last allocation (growing the heap detaches earlier ones).
  const [h, x0] = heapFloat32(backend, x);
  const xh0 = heapFloat32(backend, xHat)[1];
  const y0 = heapFloat32(backend, value)[1];
  const sums = new Float64Array(c);
  for (let i = 0; i < size; i += c) for (let k = 0; k < c; k++) sums[k]! += h[x0 + i + k]!;
  const mean = Float32Array.from(sums, (s) => s / n);
  sums.fill(0);
  for (let i = 0; i < size; i += c) {
    for (let k = 0; k < c; k++) {
      const d = f(h[x0 + i + k]! - mean[k]!);
      sums[k]! += d * d;
    }
  }
  const variance = Float32Array.from(sums, (s) => s / n);
  const rstd = Float32Array.from(variance, (v) => 1 / Math.sqrt(f(v + f(epsilon))));
  for (let i = 0; i < size; i += c) {
    for (let k = 0; k < c; k++) {
      const xh = f(f(h[x0 + i + k]! - mean[k]!) * rstd[k]!);
      h[xh0 + i + k] = xh;
      h[y0 + i + k] = f(f(xh * g[k]!) + b[k]!);
    }
  }
  return {
    mean: tf.tensor1d(mean),
    variance: tf.tensor1d(variance),
    rstd: tf.tensor1d(rstd),
    xHat,
    value,
  };
}

/** The backward pass of {@link batchNormTraining} on the wasm heap: `[dx, dgamma, dbeta]`. */
function backwardOnHeap(
  backend: WasmHeapBackend,
  dy: tf.Tensor4D,
  xHat: tf.Tensor4D,
  rstd: tf.Tensor1D,
  gamma: tf.Tensor1D,
): tf.Tensor[] {
  const f = Math.fround;
  const c = dy.shape[3];
  const size = dy.size;
  const n = size / c;
  const r = rstd.dataSync();
  const g = gamma.dataSync();
  const dx = heapOutput(backend, dy.shape);
  const [h, dy0] = heapFloat32(backend, dy);
  const xh0 = heapFloat32(backend, xHat)[1];
  const dx0 = heapFloat32(backend, dx)[1];
  const sumDy = new Float64Array(c);
  const sumDyXHat = new Float64Array(c);
  for (let i = 0; i < size; i += c) {
    for (let k = 0; k < c; k++) {
      const d = h[dy0 + i + k]!;
      sumDy[k]! += d;
      sumDyXHat[k]! += d * h[xh0 + i + k]!;
    }
  }
  const dGamma = Float32Array.from(sumDyXHat);
  const dBeta = Float32Array.from(sumDy);
  const a = Float32Array.from(g, (gk, k) => gk * r[k]!);
  const bc = Float32Array.from(a, (ak, k) => ak * f(dGamma[k]! * f(-1 / n)));
  const cc = Float32Array.from(a, (ak, k) => ak * f(dBeta[k]! * f(-1 / n)));
  for (let i = 0; i < size; i += c) {
    for (let k = 0; k < c; k++) {
      h[dx0 + i + k] = f(f(f(h[dy0 + i + k]! * a[k]!) + f(h[xh0 + i + k]! * bc[k]!)) + cc[k]!);
    }
  }
  return [dx, tf.tensor1d(dGamma), tf.tensor1d(dBeta)];
}

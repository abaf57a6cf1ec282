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
 */
import * as tf from '@tensorflow/tfjs-core';

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

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, gammaIn, betaIn, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mean = tf.mean(xIn, [0, 1, 2]) as tf.Tensor1D;
    const centred = tf.sub(xIn, mean);
    const variance = tf.mean(tf.square(centred), [0, 1, 2]) as tf.Tensor1D;
    const rstd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor1D;
    const xHat = tf.mul(centred, rstd) as tf.Tensor4D;
    const value = tf.add(tf.mul(xHat, gammaIn), betaIn) as tf.Tensor4D;
    statistics = [tf.keep(mean), tf.keep(variance)];
    save([xHat, rstd, gammaIn]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sHat, sRstd, sGamma] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
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

/**
 * `BatchMatMul` and `_FusedMatMul` without transposed operands, for the wasm backend.
 *
 * On wasm, XNNPACK's matMul runs at ~18 GFLOP/s untransposed but ~1.5 GFLOP/s with `transposeA` or
 * `transposeB` set, and tfjs's matMul gradient is made of exactly those transposed products
 * (dA = dy * B^T, dB = A^T * dy). This wrapper transposes the flagged operand explicitly (a copy at
 * ~100 M floats/s) and runs the stock kernel untransposed; untransposed calls go straight to the stock kernel.
 *
 * The stock wasm `_FusedMatMul` also gets batched products with a bias wrong (tfjs 4.22: only the first
 * batch entry is right; 2-D products are fine). Batched fused products are therefore computed unfused here:
 * matMul, then bias add, then the activation, each a stock op.
 *
 * Note on the stock wasm matMul: it caches its XNNPACK operator, with the right operand packed into it, under
 * the right operand's data id (and bias id and clamp) only, not its shape. A reshape shares the data id, so
 * using one tensor as the right operand under two different 2-D shapes reuses a stale operator. The operands
 * this file transposes are fresh tensors; callers should keep one 2-D view per tensor used as a right operand.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelConfig, markProjectKernel, runOnTensors } from './kernelTensors.js';

/** Swaps the last two axes: [..., r, c] -> [..., c, r]. */
function transposeLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = t.rank;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(t, perm);
}

/**
 * Kernel config replacing `stock` (`BatchMatMul` or `_FusedMatMul` of `backendName`): operands flagged
 * `transposeA`/`transposeB` are transposed explicitly and the stock kernel runs with both flags false.
 */
export function untransposedMatMulConfig(stock: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc = markProjectKernel((args) => {
    const { inputs, backend, attrs } = args;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return stock.kernelFunc(args);
    const kb = backend as tf.KernelBackend;
    const engine = tf.engine();
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const operands = tf.tidy(() => {
      const wrap = (info: tf.TensorInfo): tf.Tensor => {
        kb.incRef(info.dataId);
        return engine.makeTensorFromTensorInfo(info, kb);
      };
      return [
        transposeA ? transposeLastTwo(wrap(a)) : wrap(a),
        transposeB ? transposeLastTwo(wrap(b)) : wrap(b),
      ];
    });
    try {
      return stock.kernelFunc({
        ...args,
        inputs: { ...inputs, a: operands[0]!, b: operands[1]! },
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      tf.dispose(operands);
    }
  });
  return kernelConfig(stock.kernelName, stock.backendName, kernelFunc, stock);
}

/** The activations `_FusedMatMul` accepts, applied as plain ops. */
function applyActivation(
  y: tf.Tensor,
  activation: string,
  preluWeights: tf.Tensor | undefined,
  leakyreluAlpha: number | undefined,
): tf.Tensor {
  switch (activation) {
    case 'linear':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'elu':
      return tf.elu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'leakyrelu':
      return tf.leakyRelu(y, leakyreluAlpha ?? 0.2);
    case 'prelu':
      if (preluWeights === undefined) throw new Error('_FusedMatMul: prelu activation without its weights');
      return tf.prelu(y, preluWeights);
    default:
      throw new Error(`_FusedMatMul: unknown activation ${JSON.stringify(activation)}`);
  }
}

/**
 * Kernel config replacing the stock `_FusedMatMul` of `stock.backendName`: transposes as
 * {@link untransposedMatMulConfig}, and batched products (batch size > 1) computed unfused.
 */
export function fusedMatMulConfig(stock: tf.KernelConfig): tf.KernelConfig {
  const untransposed = untransposedMatMulConfig(stock);
  const kernelFunc = markProjectKernel((args) => {
    const { inputs, backend, attrs } = args;
    const { a, b, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
    const batch =
      a!.shape.slice(0, -2).reduce((p, q) => p * q, 1) * b!.shape.slice(0, -2).reduce((p, q) => p * q, 1);
    if (batch <= 1) return untransposed.kernelFunc(args);
    const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as {
      transposeA: boolean;
      transposeB: boolean;
      activation: string;
      leakyreluAlpha?: number;
    };
    const extra = [bias, preluActivationWeights].filter(
      (t): t is tf.TensorInfo => t !== undefined && t !== null,
    );
    return runOnTensors(backend as tf.KernelBackend, [a!, b!, ...extra], (at, bt, ...rest) => {
      let y = tf.matMul(at!, bt!, transposeA, transposeB);
      let k = 0;
      if (bias !== undefined && bias !== null) y = tf.add(y, rest[k++]!);
      const prelu =
        preluActivationWeights !== undefined && preluActivationWeights !== null ? rest[k] : undefined;
      return applyActivation(y, activation, prelu, leakyreluAlpha);
    });
  });
  return { ...untransposed, kernelFunc };
}

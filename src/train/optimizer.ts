/**
 * SGD with momentum and weight decay, written on tf ops so its state (one momentum buffer per variable)
 * is explicit and checkpointable.
 *
 * Semantics are PyTorch's `torch.optim.SGD(lr, momentum, weight_decay, dampening=0, nesterov=False)`, which
 * mmdetection uses (`optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)`):
 *   g   <- g * clipCoef                 (gradient clipping, applied by the caller's coefficient)
 *   d   <- g + weightDecay * p          (L2 decay folded into the gradient, before momentum)
 *   buf <- momentum * buf + d           (buffers start at 0, so the first step gives buf = d as in PyTorch)
 *   p   <- p - lr * buf
 *
 * Weight decay on norms and biases: mmdetection's RetinaNet configs decay every parameter (no
 * `paramwise_cfg`), so `decayNormAndBias` defaults to true. With false, variables of rank <= 1 (biases,
 * BatchNorm/GroupNorm gamma and beta) get no decay, the common modern choice.
 *
 * On the wasm backend the update runs on the wasm heap, one JS loop per variable, with every product and sum
 * rounded to float32 (`Math.fround`) in the order above, so it gives bitwise the values of the tf-op path
 * (IEEE float32 multiply and add are exactly rounded in both). It replaces about eight small kernel calls per
 * variable, whose per-call overhead is most of the update's time for the small nets.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapFloat32, isWasmHeapBackend, type WasmHeapBackend } from '../engine/kernels/kernelTensors.js';
import type { NamedVariable } from './trainable.js';

export interface SgdOptions {
  /** Momentum factor in [0, 1). Default 0.9. */
  momentum?: number;
  /** L2 weight decay (>= 0). Default 1e-4. */
  weightDecay?: number;
  /** Whether rank <= 1 variables (biases, norm parameters) are decayed too. Default true (mmdetection). */
  decayNormAndBias?: boolean;
  /** On the wasm backend, update in place on the heap (see the file comment). Default true; false: tf ops. */
  heapUpdate?: boolean;
}

/** A saved momentum buffer: the variable's name, its shape and its float32 values. */
export interface MomentumBuffer {
  name: string;
  shape: number[];
  values: Float32Array;
}

export class SgdMomentum {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly decayNormAndBias: boolean;
  readonly heapUpdate: boolean;
  private readonly vars: readonly NamedVariable[];
  private readonly buffers: tf.Variable[];

  constructor(variables: readonly NamedVariable[], options: SgdOptions = {}) {
    const { momentum = 0.9, weightDecay = 1e-4, decayNormAndBias = true, heapUpdate = true } = options;
    if (!(momentum >= 0 && momentum < 1))
      throw new Error(`SgdMomentum: momentum must be in [0, 1), got ${momentum}`);
    if (!(weightDecay >= 0)) throw new Error(`SgdMomentum: weightDecay must be >= 0, got ${weightDecay}`);
    const seen = new Set<string>();
    for (const v of variables) {
      if (seen.has(v.name))
        throw new Error(`SgdMomentum: variable name ${JSON.stringify(v.name)} appears twice`);
      seen.add(v.name);
    }
    this.momentum = momentum;
    this.weightDecay = weightDecay;
    this.decayNormAndBias = decayNormAndBias;
    this.heapUpdate = heapUpdate;
    this.vars = variables;
    // Inside tidy, so the zeros tensor is freed and each buffer holds the only reference to its data.
    this.buffers = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v.variable), false)));
  }

  /** The decay applied to one variable: `weightDecay`, or 0 for rank <= 1 when `decayNormAndBias` is false. */
  decayOf(index: number): number {
    const v = this.vars[index]!.variable;
    return !this.decayNormAndBias && v.rank <= 1 ? 0 : this.weightDecay;
  }

  /**
   * One update. `grads[i]` is the gradient of `variables[i]` (same shape); `clipCoef` multiplies every
   * gradient first (1 = no clipping). Creates no lasting tensors; `grads` are not disposed.
   */
  step(grads: readonly tf.Tensor[], lr: number, clipCoef = 1): void {
    if (grads.length !== this.vars.length)
      throw new Error(
        `SgdMomentum.step: got ${grads.length} gradients, expected ${this.vars.length} (one per variable)`,
      );
    if (!Number.isFinite(lr) || lr < 0)
      throw new Error(`SgdMomentum.step: lr must be finite and >= 0, got ${lr}`);
    grads.forEach((g, i) => {
      if (g.size !== this.vars[i]!.variable.size)
        throw new Error(
          `SgdMomentum.step: gradient ${i} (${this.vars[i]!.name}) has shape [${g.shape}], expected [${this.vars[i]!.variable.shape}]`,
        );
    });
    const backend = tf.backend();
    const onHeap = this.heapUpdate && isWasmHeapBackend(backend) ? backend : null;
    const viaOps: number[] = [];
    for (let i = 0; i < this.vars.length; i++) {
      if (onHeap === null || !this.stepOnHeap(onHeap, i, grads[i]!, lr, clipCoef)) viaOps.push(i);
    }
    if (viaOps.length === 0) return;
    tf.tidy(() => {
      const lrT = tf.scalar(lr);
      const momT = tf.scalar(this.momentum);
      const coefT = clipCoef === 1 ? null : tf.scalar(clipCoef);
      for (const i of viaOps) {
        const p = this.vars[i]!.variable;
        let g = grads[i]!;
        if (coefT !== null) g = tf.mul(g, coefT);
        const wd = this.decayOf(i);
        const d = wd === 0 ? g : tf.add(g, tf.mul(p, tf.scalar(wd)));
        const buf = this.buffers[i]!;
        const nextBuf = tf.add(tf.mul(buf, momT), d);
        buf.assign(nextBuf);
        p.assign(tf.sub(p, tf.mul(nextBuf, lrT)));
      }
    });
  }

  /**
   * The update of variable `i` on the wasm heap, in float32 as the tf-op path computes it; false (nothing
   * changed) when its buffer's data is shared with another tensor, or a tensor is not float32. The buffer is
   * updated in place; the variable gets its new values in a new tensor (`assign`), because the backend caches
   * work derived from a tensor's data by its data id (XNNPACK's packed convolution weights), which an in-place
   * write would leave stale.
   */
  private stepOnHeap(
    backend: WasmHeapBackend,
    i: number,
    grad: tf.Tensor,
    lr: number,
    clipCoef: number,
  ): boolean {
    const p = this.vars[i]!.variable;
    const buf = this.buffers[i]!;
    const refCount = (backend as unknown as { refCount(dataId: object): number }).refCount(buf.dataId);
    if (p.dtype !== 'float32' || grad.dtype !== 'float32' || refCount !== 1) return false;
    const out = backend.makeOutput(p.shape, 'float32');
    const [heap, p0] = heapFloat32(backend, p);
    const b0 = heapFloat32(backend, buf)[1];
    const g0 = heapFloat32(backend, grad)[1];
    const o0 = heapFloat32(backend, out)[1];
    const f = Math.fround;
    const [coef, wd, mom, rate] = [f(clipCoef), f(this.decayOf(i)), f(this.momentum), f(lr)];
    const n = p.size;
    for (let k = 0; k < n; k++) {
      const w = heap[p0 + k]!;
      let d = clipCoef === 1 ? heap[g0 + k]! : f(heap[g0 + k]! * coef);
      if (wd !== 0) d = f(d + f(w * wd));
      const next = f(f(heap[b0 + k]! * mom) + d);
      heap[b0 + k] = next;
      heap[o0 + k] = f(w - f(next * rate));
    }
    const updated = tf.engine().makeTensorFromTensorInfo(out, backend as unknown as tf.KernelBackend);
    p.assign(updated);
    updated.dispose();
    return true;
  }

  /** Copies of the momentum buffers, for a checkpoint. */
  getState(): MomentumBuffer[] {
    return this.buffers.map((b, i) => ({
      name: this.vars[i]!.name,
      shape: [...b.shape],
      values: (b.dataSync() as Float32Array).slice(),
    }));
  }

  /** Restores buffers saved by `getState`; names and shapes must match the variables exactly. */
  setState(state: readonly MomentumBuffer[]): void {
    if (state.length !== this.vars.length)
      throw new Error(`SgdMomentum.setState: got ${state.length} buffers, expected ${this.vars.length}`);
    for (let i = 0; i < state.length; i++) {
      const s = state[i]!;
      const v = this.vars[i]!;
      const b = this.buffers[i]!;
      if (s.name !== v.name || s.shape.join(',') !== b.shape.join(','))
        throw new Error(
          `SgdMomentum.setState: buffer ${i} is ${s.name} [${s.shape}], expected ${v.name} [${b.shape}]; ` +
            'was the checkpoint written for another model configuration?',
        );
      tf.tidy(() => b.assign(tf.tensor(s.values, b.shape, 'float32')));
    }
  }

  dispose(): void {
    for (const b of this.buffers) b.dispose();
  }
}

/**
 * Where the time of one detector training step goes: the trainer's step (batch from the data loader,
 * forward, loss, backward, gradient norm, SGD update) of a config's model, with every kernel call of the
 * backend counted and timed.
 *
 *   npm run bench:step-profile -- --config FILE [--data DIR] [--steps 10] [--warmup 3] [--backend wasm]
 *                                 [--conv-setup] [--json]
 *
 * --data reads a shapes (COCO-format) folder as it is, with the model's preprocessing and the config's batch
 * size and flip; without it the batch is seeded noise with 1-4 boxes per image. Each kernel is wrapped in
 * the registry for the run: its calls per step, and its CPU time per step (process CPU time, which other
 * work on the machine does not inflate as it does wall time) both inclusive and exclusive (less the kernels
 * it calls itself: the project's training kernels are built from other kernels). "outside kernels" is the
 * step's CPU time that no kernel accounts for: tfjs's per-op engine work (tape, scopes, tensor bookkeeping),
 * the gradient functions' JS, the loader, target assignment and the losses' JS. --conv-setup adds, for every
 * distinct forward convolution of the step, the cost of XNNPACK's operator creation (weight packing) that a
 * new filter tensor pays: the same convolution timed with the filter it ran with (cached operator) and with a
 * fresh copy of it. It also prints the convolution arithmetic of the step (forward, input and filter
 * gradients, counted from the kernels' shapes however they are computed) and the rate the convolution
 * kernels reached on it, so a target step time converts to the GFLOP/s it would need.
 * With --json the last line holds the figures. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { intFlag, parseArgs, stringFlag } from './args.js';
import { loadConfigFile } from '../src/config.js';
import { readCocoDataset } from '../src/data/coco.js';
import { shapesSplitPaths } from '../src/data/shapes.js';
import { RetinaNet } from '../src/detector/retinaNet.js';
import { setupBackend } from '../src/engine/backend.js';
import { conv2dInfoNhwc } from '../src/engine/kernels/kernelTensors.js';
import { buildLoss } from '../src/losses/index.js';
import { DetectorBatches } from '../src/train/detectorBatches.js';
import { detectorTrainable, type DetectorBatch } from '../src/train/detectorTrainable.js';
import { clipCoefficient, globalNorm } from '../src/train/gradClip.js';
import { localGradients } from '../src/train/gradients.js';
import { SgdMomentum } from '../src/train/optimizer.js';
import type { SourcedBatch } from '../src/train/trainable.js';
import { Random } from '../src/utils/random.js';
import { median, syntheticTargets } from './synthetic.js';

/** Process CPU time in ms (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface KernelStats {
  calls: number;
  inclusive: number;
  exclusive: number;
  /** Inclusive time of the calls no other kernel made. */
  topLevel: number;
}

/** Wraps every kernel of `backendName` in the registry with a counter and a CPU timer. */
class KernelTimer {
  readonly stats = new Map<string, KernelStats>();
  /** CPU time of the children of the calls in progress, innermost last. */
  private readonly childTime: number[] = [];
  enabled = false;
  /** Called with each Conv2D / FusedConv2D call's inputs and attributes (before it runs). */
  onConv: ((name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => void) | null = null;
  /** Called with each call that no other kernel made (the step's own kernel calls), before it runs. */
  onTopLevel: ((name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => void) | null = null;

  constructor(backendName: string) {
    for (const config of tf.getKernelsForBackend(backendName)) {
      const inner = config.kernelFunc;
      const name = config.kernelName;
      const kernelFunc: tf.KernelFunc = (args) => {
        if (!this.enabled) return inner(args);
        if (name === 'Conv2D' || name === 'FusedConv2D') this.onConv?.(name, args.inputs, args.attrs ?? {});
        const topLevel = this.childTime.length === 0;
        if (topLevel) this.onTopLevel?.(name, args.inputs, args.attrs ?? {});
        this.childTime.push(0);
        const t0 = cpuMs();
        const out = inner(args);
        const t = cpuMs() - t0;
        const children = this.childTime.pop()!;
        if (this.childTime.length > 0) this.childTime[this.childTime.length - 1]! += t;
        let s = this.stats.get(name);
        if (s === undefined) {
          s = { calls: 0, inclusive: 0, exclusive: 0, topLevel: 0 };
          this.stats.set(name, s);
        }
        s.calls++;
        s.inclusive += t;
        s.exclusive += t - children;
        if (topLevel) s.topLevel += t;
        return out;
      };
      tf.unregisterKernel(name, backendName);
      tf.registerKernel({ ...config, kernelFunc });
    }
  }

  /** Exclusive CPU time of all kernel calls so far. */
  total(): number {
    let s = 0;
    for (const v of this.stats.values()) s += v.exclusive;
    return s;
  }

  calls(): number {
    let s = 0;
    for (const v of this.stats.values()) s += v.calls;
    return s;
  }
}

/** A forward convolution seen in the step, by its geometry. */
interface ConvCall {
  key: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  bias: [number] | null;
  attrs: tf.NamedAttrMap;
  fused: boolean;
  calls: number;
  /** Calls whose filter data id had not been seen before in the step (XNNPACK creates an operator). */
  newFilter: number;
}

type Shape4 = [number, number, number, number];

/**
 * Multiply-adds of a convolution kernel call as the step asks for it (the forward, the input gradient or the
 * filter gradient of one convolution: each is N * outH * outW * Cout * kh * kw * Cin), however the kernel
 * computes it; null for any other kernel.
 */
function convMultiplyAdds(
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
): number | null {
  const a = attrs as unknown as {
    strides: [number, number];
    pad: tf.Conv2DAttrs['pad'];
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    inputShape?: Shape4;
    filterShape?: Shape4;
  };
  let x: Shape4;
  let w: Shape4;
  if (name === 'Conv2D' || name === 'FusedConv2D') {
    x = inputs['x']!.shape as Shape4;
    w = inputs['filter']!.shape as Shape4;
  } else if (name === 'Conv2DBackpropInput') {
    x = a.inputShape!;
    w = inputs['filter']!.shape as Shape4;
  } else if (name === 'Conv2DBackpropFilter') {
    x = inputs['x']!.shape as Shape4;
    w = a.filterShape!;
  } else return null;
  const info = conv2dInfoNhwc(x, w, a.strides, a.pad, a.dimRoundingMode);
  return info.batchSize * info.outHeight * info.outWidth * info.outChannels * w[0] * w[1] * w[2];
}

/** Median CPU ms of `fn` over `reps` runs. */
function timeCpu(fn: () => void, reps: number): number {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = cpuMs();
    fn();
    ts.push(cpuMs() - t0);
  }
  return median(ts);
}

/**
 * For one convolution geometry: CPU ms of a call with a cached operator (same filter tensor again) and of a
 * call with a new filter tensor (operator creation and weight packing included).
 */
function convSetupCost(c: ConvCall, reps: number): { cached: number; fresh: number } {
  const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal(c.filter, 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const b = c.bias === null ? null : (tf.randomNormal(c.bias, 0, 0.1, 'float32', 3) as tf.Tensor1D);
  const a = c.attrs as unknown as {
    strides: [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dilations: [number, number];
    activation?: string;
  };
  const run = (filter: tf.Tensor4D): void => {
    const y = c.fused
      ? tf.fused.conv2d({
          x,
          filter,
          strides: a.strides,
          pad: a.pad as 'same',
          dilations: a.dilations,
          ...(b !== null ? { bias: b } : {}),
          activation: (a.activation ?? 'linear') as 'linear',
        })
      : tf.conv2d(x, filter, a.strides, a.pad as 'same', 'NHWC', a.dilations);
    y.dispose();
  };
  run(w);
  const cached = timeCpu(() => run(w), reps);
  const fresh = timeCpu(() => {
    const w2 = tf.clone(w);
    run(w2);
    w2.dispose();
  }, reps);
  const cloneOnly = timeCpu(() => tf.clone(w).dispose(), reps);
  tf.dispose([x, w, ...(b !== null ? [b] : [])]);
  return { cached, fresh: fresh - cloneOnly };
}

async function main(): Promise<void> {
  const args = parseArgs('bench:step-profile', process.argv.slice(2), {
    config: { type: 'string', description: 'config file (model, data.batch_size, data.flip_ratio, train)' },
    data: { type: 'string', description: 'a shapes (COCO-format) dataset folder to read batches from' },
    steps: { type: 'string', description: 'profiled steps (default 10)' },
    warmup: { type: 'string', description: 'steps before profiling (default 3)' },
    backend: { type: 'string', description: 'backend (default wasm)' },
    'conv-setup': { type: 'boolean', description: 'measure XNNPACK operator creation per conv geometry' },
    json: { type: 'boolean', description: 'print the figures as JSON on the last line' },
  });
  const file = stringFlag(args, 'config');
  if (file === undefined) throw new Error('bench:step-profile: --config expects a config file, got none');
  const info = await setupBackend({ backend: stringFlag(args, 'backend') ?? 'wasm' });
  const steps = intFlag('bench:step-profile', args, 'steps', 10, 1);
  const warmup = intFlag('bench:step-profile', args, 'warmup', 3, 0);
  const config = await loadConfigFile(file);
  const batchSize = config.data.batch_size;
  const model = new RetinaNet(config.model, { seed: config.train.seed, buildLoss });
  const trainable = detectorTrainable(model);

  let nextBatch: () => Promise<SourcedBatch<DetectorBatch>>;
  const dataDir = stringFlag(args, 'data');
  if (dataDir !== undefined) {
    const p = shapesSplitPaths(dataDir, 'train');
    const dataset = await readCocoDataset({ annotationFile: p.annotationFile, imageRoot: p.imageRoot });
    const source = DetectorBatches.forTraining(dataset, {
      batchSize,
      flipRatio: config.data.flip_ratio,
      seed: config.data.seed,
      preprocess: config.model.preprocess,
    });
    nextBatch = () => source.next();
  } else {
    const [h, w] = config.model.preprocess.img_scale;
    const rng = new Random(5);
    nextBatch = async () => {
      const images = tf.randomNormal([batchSize, h, w, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const gts = syntheticTargets(batchSize, Math.min(h, w), rng, config.model.numClasses, [
        0.2 * Math.min(h, w),
        0.6 * Math.min(h, w),
      ]);
      return { data: { images, gts }, images: batchSize, epoch: 0, dispose: () => images.dispose() };
    };
  }

  const timer = new KernelTimer(info.name);
  const convs = new Map<string, ConvCall>();
  const seenFilters = new Set<object>();
  timer.onConv = (name, inputs, attrs) => {
    const x = inputs['x']!;
    const filter = inputs['filter']!;
    const bias = inputs['bias'] ?? null;
    const a = attrs as unknown as Record<string, unknown>;
    const key = JSON.stringify([name, x.shape, filter.shape, a['strides'], a['pad'], a['dilations']]);
    let c = convs.get(key);
    if (c === undefined) {
      c = {
        key,
        x: x.shape as ConvCall['x'],
        filter: filter.shape as ConvCall['filter'],
        bias: bias === null ? null : (bias.shape as [number]),
        attrs,
        fused: name === 'FusedConv2D',
        calls: 0,
        newFilter: 0,
      };
      convs.set(key, c);
    }
    c.calls++;
    if (!seenFilters.has(filter.dataId)) {
      c.newFilter++;
      seenFilters.add(filter.dataId);
    }
  };

  // The convolution arithmetic the step asks for, by kernel (multiply-adds, all profiled steps).
  const convMacs = new Map<string, number>();
  timer.onTopLevel = (name, inputs, attrs) => {
    const macs = convMultiplyAdds(name, inputs, attrs);
    if (macs !== null) convMacs.set(name, (convMacs.get(name) ?? 0) + macs);
  };

  // Phases of the step, CPU ms: the loader, the forward + loss inside the tape (with target encoding on its
  // own), the backward, the norm and the update.
  const phases = { batch: 0, forwardLoss: 0, targets: 0, backward: 0, normUpdate: 0 };
  const encode = model.encodeTargets.bind(model);
  model.encodeTargets = (sizes, gts) => {
    const t0 = cpuMs();
    const r = encode(sizes, gts);
    phases.targets += cpuMs() - t0;
    return r;
  };
  const lossFn = trainable.lossFn.bind(trainable);
  let lossTime = 0;
  const timedTrainable = {
    ...trainable,
    lossFn(batch: DetectorBatch) {
      const t0 = cpuMs();
      const r = lossFn(batch);
      lossTime += cpuMs() - t0;
      return r;
    },
  };
  const gradients = localGradients(timedTrainable);
  const optimizer = new SgdMomentum(trainable.variables, {
    momentum: config.train.optimizer.momentum,
    weightDecay: config.train.optimizer.weight_decay,
  });
  const maxNorm = config.train.grad_clip?.max_norm ?? null;
  const lr = 0.001;

  const stepCpu: number[] = [];
  const stepWall: number[] = [];
  const tensorsMade: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const profiled = i >= warmup;
    timer.enabled = profiled;
    seenFilters.clear();
    const firstId = tf.scalar(0);
    const c0 = cpuMs();
    const w0 = performance.now();
    const batch = await nextBatch();
    const c1 = cpuMs();
    lossTime = 0;
    const step = gradients(batch);
    const c2 = cpuMs();
    const s = step instanceof Promise ? await step : step;
    batch.dispose();
    const norm = globalNorm(s.grads);
    optimizer.step(s.grads, lr, clipCoefficient(norm, maxNorm));
    tf.dispose(s.grads);
    const c3 = cpuMs();
    const lastId = tf.scalar(0);
    if (profiled) {
      stepCpu.push(c3 - c0);
      stepWall.push(performance.now() - w0);
      phases.batch += c1 - c0;
      phases.forwardLoss += lossTime;
      phases.backward += c2 - c1 - lossTime;
      phases.normUpdate += c3 - c2;
      tensorsMade.push(lastId.id - firstId.id - 1);
    }
    tf.dispose([firstId, lastId]);
  }
  timer.enabled = false;

  const perStep = (v: number) => v / steps;
  const stepMs = median(stepCpu);
  const kernelMs = perStep(timer.total());
  const rows = [...timer.stats.entries()]
    .map(([name, s]) => ({
      kernel: name,
      calls: perStep(s.calls),
      exclusive_ms: perStep(s.exclusive),
      inclusive_ms: perStep(s.inclusive),
    }))
    .sort((a, b) => b.exclusive_ms - a.exclusive_ms);
  console.log(
    `${file}: ${model.numParameters()} parameters, batch ${batchSize}, backend ${info.name}, ` +
      `${dataDir !== undefined ? `data ${dataDir}` : 'noise images'}; ${steps} steps after ${warmup}`,
  );
  console.log(
    `step: CPU ${stepMs.toFixed(1)} ms (median), wall ${median(stepWall).toFixed(1)} ms (median); ` +
      `${perStep(timer.calls()).toFixed(0)} kernel calls and ${median(tensorsMade)} tensors per step`,
  );
  console.log(
    'phases (CPU ms per step): ' +
      `batch ${perStep(phases.batch).toFixed(1)}, forward + loss ${perStep(phases.forwardLoss).toFixed(1)} ` +
      `(targets ${perStep(phases.targets).toFixed(1)}), backward ${perStep(phases.backward).toFixed(1)}, ` +
      `norm + update ${perStep(phases.normUpdate).toFixed(1)}`,
  );
  const outside = perStep(stepCpu.reduce((a, b) => a + b, 0)) - kernelMs;
  console.log(
    `kernels: ${kernelMs.toFixed(1)} ms exclusive; outside kernels: ${outside.toFixed(1)} ms (engine, JS)`,
  );
  // GFLOP per step (2 FLOPs per multiply-add) and the rate the convolution kernels reached on it: the CPU
  // time of the step's own calls of the four kernels, with everything they run (the project's gradient
  // kernels are built from other kernels, convolutions among them).
  const convNames = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
  const convGflop = perStep([...convMacs.values()].reduce((a, b) => a + b, 0)) * 2e-9;
  const convKernelMs = perStep(convNames.reduce((sum, n) => sum + (timer.stats.get(n)?.topLevel ?? 0), 0));
  console.log(
    `convolution arithmetic: ${convGflop.toFixed(3)} GFLOP per step (` +
      convNames
        .filter((n) => convMacs.has(n))
        .map((n) => `${n} ${(perStep(convMacs.get(n)!) * 2e-9).toFixed(3)}`)
        .join(', ') +
      `) in ${convKernelMs.toFixed(1)} ms of convolution kernels: ${(convGflop / (convKernelMs / 1000)).toFixed(1)} GFLOP/s; ` +
      `a step of T ms needs at least ${(convGflop * 1000).toFixed(0)} / T GFLOP/s`,
  );
  console.log('kernel                         calls/step  excl ms  incl ms');
  for (const r of rows) {
    console.log(
      `${r.kernel.padEnd(30)} ${r.calls.toFixed(1).padStart(10)} ${r.exclusive_ms.toFixed(2).padStart(8)} ` +
        `${r.inclusive_ms.toFixed(2).padStart(8)}`,
    );
  }
  let setup: { conv: string; calls: number; new_filter: number; cached_ms: number; fresh_ms: number }[] = [];
  if (args.flags['conv-setup'] === true) {
    console.log('forward convolutions: per call CPU ms with a cached operator / with a new filter tensor');
    let totalCached = 0;
    let totalCreate = 0;
    for (const c of convs.values()) {
      const { cached, fresh } = convSetupCost(c, 9);
      const calls = c.calls / steps;
      const created = c.newFilter / steps;
      totalCached += calls * cached;
      totalCreate += created * Math.max(0, fresh - cached);
      setup.push({ conv: c.key, calls, new_filter: created, cached_ms: cached, fresh_ms: fresh });
      console.log(
        `  x [${c.x}] w [${c.filter}] ${JSON.stringify(c.attrs['strides'])} dil ${JSON.stringify(c.attrs['dilations'])}: ` +
          `${calls.toFixed(1)} calls/step (${created.toFixed(1)} new filters), ${cached.toFixed(3)} / ${fresh.toFixed(3)} ms`,
      );
    }
    console.log(
      `  per step: ${totalCached.toFixed(1)} ms with cached operators + ${totalCreate.toFixed(1)} ms operator creation`,
    );
  } else setup = [];
  optimizer.dispose();
  model.dispose();
  if (args.flags.json === true) {
    console.log(
      JSON.stringify({
        step_cpu_ms: stepMs,
        step_wall_ms: median(stepWall),
        kernel_calls: perStep(timer.calls()),
        tensors: median(tensorsMade),
        kernels_ms: kernelMs,
        conv_gflop: convGflop,
        conv_kernels_ms: convKernelMs,
        outside_ms: outside,
        phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, perStep(v)])),
        kernels: rows,
        conv_setup: setup,
      }),
    );
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});

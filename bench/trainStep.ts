/**
 * Images per second of a full detector training step: forward, GHM-C + GHM-R loss, backward, SGD update.
 *
 *   npm run bench:train-step [-- --backend wasm|cpu] [--batch 8] [--size 256] [--steps 4] [--replicas 1,2]
 *                            [--config FILE] [--json]
 *
 * With --config the net is that config's model at its (square) input size, its losses and its classes, with
 * boxes of 20-60 % of the image side. Otherwise the net is the project's RetinaNet with the shapes preset
 * (ResNet-style backbone 16/32/64/128/128 with BatchNorm, FPN to 64 channels on P3-P5, shared heads of two 3x3
 * 64-channel convs: 1,280,654 parameters with 10 classes, see docs/engine.md, "Benchmarks"); losses
 * are the project's GHM-C (30 bins, momentum 0.75) and GHM-R (mu 0.02, 10 bins, momentum 0.7). Images are
 * seeded noise with 1-4 random boxes each. SGD lr 0.01, momentum 0.9. The step runs through `DataParallel` (`bench/trainStepReplica.ts`): with
 * `--replicas 1` in-process, with R > 1 on R threads (the calling one and R - 1 workers), the batch split
 * into R equal shards. The first step warms up and is not timed; the figure is the median of the timed steps.
 * With --json the last line is `{ "images_per_s", "backend", "input": [h, w], "batch", "replicas", "step_s" }`
 * for the first replica count, plus `by_replicas` when several are given. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { intFlag, parseArgs, stringFlag } from './args.js';
import { loadConfigFile } from '../src/config.js';
import type { RetinaNetConfig } from '../src/detector/config.js';
import type { ImageGroundTruth } from '../src/detector/targets.js';
import { setupBackend } from '../src/engine/backend.js';
import { DataParallel } from '../src/engine/dataParallel/dataParallel.js';
import { Random } from '../src/utils/random.js';
import { median, syntheticTargets } from './synthetic.js';
import type { BenchReplicaConfig, BenchShard } from './trainStepReplica.js';

const NUM_CLASSES = 10;

/** Median step time in seconds of `steps` timed steps (after one warm-up step) with R replicas. */
async function measure(
  replicas: number,
  backend: string,
  batch: number,
  size: number,
  steps: number,
  gts: ImageGroundTruth[],
  model: RetinaNetConfig | undefined,
): Promise<number> {
  if (batch % replicas !== 0) {
    throw new Error(`bench:train-step: --batch ${batch} is not divisible into ${replicas} equal shards`);
  }
  const config: BenchReplicaConfig = {
    numClasses: model?.numClasses ?? NUM_CLASSES,
    ...(model !== undefined ? { model } : {}),
    seed: 1,
    learningRate: 0.01,
    momentum: 0.9,
  };
  const dp = await DataParallel.create<BenchReplicaConfig, BenchShard>({
    replicaModule: new URL('./trainStepReplica.ts', import.meta.url),
    config,
    replicas,
    backend,
  });
  const per = batch / replicas;
  const shards: BenchShard[] = Array.from({ length: replicas }, (_, r) => ({
    imageSeed: 3 + r,
    batch: per,
    size,
    gts: gts.slice(r * per, (r + 1) * per),
  }));
  const times: number[] = [];
  try {
    for (let i = 0; i <= steps; i++) {
      const t0 = performance.now();
      const r = await dp.step(shards);
      const s = (performance.now() - t0) / 1000;
      if (i > 0) times.push(s);
      console.log(
        `replicas ${replicas} step ${i}${i === 0 ? ' (warm-up)' : ''}: ${s.toFixed(2)} s, ` +
          `loss ${r.scalars['loss']!.toFixed(4)}, tensors ${tf.memory().numTensors}, gradient time per replica ` +
          r.replicaScalars.map((x) => `${x['compute_s']!.toFixed(2)} s`).join(' / '),
      );
    }
  } finally {
    await dp.close();
  }
  return median(times);
}

async function main(): Promise<void> {
  const args = parseArgs('bench:train-step', process.argv.slice(2), {
    backend: { type: 'string', description: 'backend (default wasm)' },
    batch: { type: 'string', description: 'images per step (default 8)' },
    size: { type: 'string', description: 'square input size, a multiple of 32 (default 256)' },
    steps: { type: 'string', description: 'timed steps after one warm-up step (default 4)' },
    replicas: { type: 'string', description: 'comma-separated replica counts to measure (default 1)' },
    config: { type: 'string', description: 'a config file whose model (and input size) to train' },
    json: { type: 'boolean', description: 'print a JSON line last' },
  });
  const info = await setupBackend({ backend: stringFlag(args, 'backend') ?? 'wasm' });
  const batch = intFlag('bench:train-step', args, 'batch', 8, 1);
  const configFile = stringFlag(args, 'config');
  const model = configFile !== undefined ? (await loadConfigFile(configFile)).model : undefined;
  let size = intFlag('bench:train-step', args, 'size', 256, 32);
  if (model !== undefined) {
    const [h, w] = model.preprocess.img_scale;
    if (h !== w || args.flags['size'] !== undefined)
      throw new Error(
        `bench:train-step: --config needs a square model.preprocess.img_scale and no --size, got [${h}, ${w}]` +
          (args.flags['size'] !== undefined ? ` and --size ${size}` : ''),
      );
    size = h;
  }
  const steps = intFlag('bench:train-step', args, 'steps', 4, 1);
  const replicaCounts = (stringFlag(args, 'replicas') ?? '1').split(',').map((v) => {
    const r = Number(v);
    if (!Number.isInteger(r) || r < 1)
      throw new Error(`bench:train-step: --replicas expects integers >= 1, got ${v}`);
    return r;
  });
  const gts =
    model !== undefined
      ? syntheticTargets(batch, size, new Random(7), model.numClasses, [0.2 * size, 0.6 * size])
      : syntheticTargets(batch, size, new Random(7), NUM_CLASSES, [16, 128]);
  console.log(
    `backend ${info.name}; kernels: ${info.kernels.join(', ') || 'none'}; batch ${batch}, ${size}x${size}`,
  );
  const rows: { replicas: number; images_per_s: number; step_s: number }[] = [];
  for (const replicas of replicaCounts) {
    const stepS = await measure(replicas, info.name, batch, size, steps, gts, model);
    rows.push({ replicas, images_per_s: batch / stepS, step_s: stepS });
    console.log(
      `replicas ${replicas}: median step ${stepS.toFixed(2)} s = ${(batch / stepS).toFixed(2)} images/s`,
    );
  }
  if (rows.length > 1) {
    const base = rows[0]!.images_per_s;
    for (const r of rows.slice(1))
      console.log(`speed-up at ${r.replicas} replicas: ${(r.images_per_s / base).toFixed(2)}x`);
  }
  if (args.flags['json'] === true) {
    const first = rows[0]!;
    const out: Record<string, unknown> = {
      images_per_s: first.images_per_s,
      backend: info.name,
      input: [size, size],
      batch,
      replicas: first.replicas,
      step_s: first.step_s,
    };
    if (rows.length > 1) out['by_replicas'] = rows;
    console.log(JSON.stringify(out));
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

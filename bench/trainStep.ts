/**
 * Images per second of a full detector training step: forward, GHM-C + GHM-R loss, backward, SGD update.
 *
 *   npm run bench:train-step [-- --backend wasm|cpu] [--batch 8] [--size 256] [--steps 4] [--json]
 *
 * The net is the project's RetinaNet with the shapes preset (ResNet-style backbone 16/32/64/128/128 with
 * BatchNorm, FPN to 64 channels on P3-P5, shared heads of two 3x3 64-channel convs), with 10 classes as in
 * `../shared/notes/engine.md` section 6; losses are the project's GHM-C (30 bins, momentum 0.75) and GHM-R
 * (mu 0.02, 10 bins, momentum 0.7). Images are seeded noise with 1-4 random boxes each. SGD lr 0.01,
 * momentum 0.9. The first step warms up and is not timed; the figure is the median of the timed steps.
 * With --json the last line is `{ "images_per_s", "backend", "input": [h, w], "batch", "step_s" }`. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { intFlag, parseArgs, stringFlag } from '../src/cli/args.js';
import { SHAPES_CONFIG } from '../src/detector/config.js';
import { RetinaNet } from '../src/detector/retinaNet.js';
import type { ImageGroundTruth } from '../src/detector/targets.js';
import { setupBackend } from '../src/engine/backend.js';
import { buildLoss } from '../src/losses/index.js';
import { Random } from '../src/utils/random.js';

const NUM_CLASSES = 10;

/** 1-4 boxes per image, 16-128 px wide, inside a `size` x `size` image, xyxy. */
function syntheticTargets(batch: number, size: number, rng: Random): ImageGroundTruth[] {
  const out: ImageGroundTruth[] = [];
  for (let i = 0; i < batch; i++) {
    const n = rng.int(1, 4);
    const boxes = new Float32Array(n * 4);
    const labels = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const w = rng.uniform(16, 128);
      const h = rng.uniform(16, 128);
      const x = rng.uniform(0, size - w);
      const y = rng.uniform(0, size - h);
      boxes.set([x, y, x + w, y + h], j * 4);
      labels[j] = rng.int(0, NUM_CLASSES - 1);
    }
    out.push({ boxesXyxy: boxes, labels });
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs('bench:train-step', process.argv.slice(2), {
    backend: { type: 'string', description: 'backend (default wasm)' },
    batch: { type: 'string', description: 'images per step (default 8)' },
    size: { type: 'string', description: 'square input size, a multiple of 32 (default 256)' },
    steps: { type: 'string', description: 'timed steps after one warm-up step (default 4)' },
    json: { type: 'boolean', description: 'print a JSON line last' },
  });
  const info = await setupBackend({ backend: stringFlag(args, 'backend') ?? 'wasm' });
  const batch = intFlag('bench:train-step', args, 'batch', 8, 1);
  const size = intFlag('bench:train-step', args, 'size', 256, 32);
  const steps = intFlag('bench:train-step', args, 'steps', 4, 1);
  const model = new RetinaNet({ ...SHAPES_CONFIG, numClasses: NUM_CLASSES }, { seed: 1, buildLoss });
  const optimizer = tf.train.momentum(0.01, 0.9);
  const rng = new Random(7);
  const images = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const gts = syntheticTargets(batch, size, rng);
  console.log(
    `backend ${info.name}; kernels: ${info.kernels.join(', ') || 'none'}; batch ${batch}, ${size}x${size}, ` +
      `${model.variables.reduce((a, v) => a + v.size, 0)} parameters`,
  );
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const loss = optimizer.minimize(() => model.computeLoss(images, gts).loss, true, model.variables);
    const value = loss!.dataSync()[0]!;
    loss!.dispose();
    const s = (performance.now() - t0) / 1000;
    if (i > 0) times.push(s);
    console.log(
      `step ${i}${i === 0 ? ' (warm-up)' : ''}: ${s.toFixed(2)} s, loss ${value.toFixed(4)}, tensors ${tf.memory().numTensors}`,
    );
  }
  const sorted = [...times].sort((a, b) => a - b);
  const stepS = sorted[Math.floor(sorted.length / 2)]!;
  const imagesPerS = batch / stepS;
  console.log(`median step ${stepS.toFixed(2)} s = ${imagesPerS.toFixed(2)} images/s`);
  if (args.flags['json'] === true) {
    console.log(
      JSON.stringify({
        images_per_s: imagesPerS,
        backend: info.name,
        input: [size, size],
        batch,
        step_s: stepS,
      }),
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

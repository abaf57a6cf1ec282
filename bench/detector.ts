/**
 * Detector figures measured side by side in one run (wasm by default):
 *  - a training step (forward, loss, backward, SGD update) with `loss_granularity: 'level'` (the reference,
 *    one loss call per pyramid level) and `'batch'` (one call on all anchors), interleaved step by step;
 *  - where the step's time goes outside the network: target encoding (assigner + coder, JS) per batch;
 *  - `detect()` latency on one image (resize, normalise, forward, post-processing with class-wise NMS);
 *  - a COCO-sized model: `detect()` of an imported R-50 RetinaNet on an 800x1333 image, and peak memory, in
 *    Node (bench/importedR50.ts; the model is exported from torchvision once, or given with --r50 DIR) and in
 *    Chromium (bench/importedR50Browser.ts; --no-browser skips it).
 *
 *   npm run bench:detector [-- --backend wasm|cpu] [--batch 8] [--size 128] [--steps 3]
 *                          [--r50 DIR] [--r50-runs 3] [--only-r50] [--no-browser]
 *
 * Shapes preset (4 classes, P3-P5) with GHM-C + GHM-R; inputs are seeded noise with 1-4 boxes of 12-80 px.
 * Figures are medians over the timed steps (one warm-up step each is not timed). Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { intFlag, parseArgs, stringFlag } from './args.js';
import { SHAPES_CONFIG } from '../src/detector/config.js';
import { ALL_DETECTIONS, RetinaNet } from '../src/detector/retinaNet.js';
import { setupBackend } from '../src/engine/backend.js';
import { Random } from '../src/utils/random.js';
import { benchImportedR50, r50ModelDir } from './importedR50.js';
import { benchImportedR50Browser } from './importedR50Browser.js';
import { median, syntheticTargets } from './synthetic.js';

async function main(): Promise<void> {
  const args = parseArgs('bench:detector', process.argv.slice(2), {
    backend: { type: 'string', description: 'backend (default wasm)' },
    batch: { type: 'string', description: 'images per training step (default 8)' },
    size: { type: 'string', description: 'square input size, a multiple of 32 (default 128)' },
    steps: { type: 'string', description: 'timed steps per variant after one warm-up (default 3)' },
    r50: { type: 'string', description: 'an imported R-50 RetinaNet model directory (default: made once)' },
    'r50-runs': {
      type: 'string',
      description: 'timed detect() runs of the R-50 after one warm-up (default 3)',
    },
    'only-r50': { type: 'boolean', description: 'measure the R-50 only' },
    'no-browser': { type: 'boolean', description: 'skip the R-50 in Chromium' },
  });
  const info = await setupBackend({ backend: stringFlag(args, 'backend') ?? 'wasm' });
  if (args.flags['only-r50'] !== true) await shapesFigures(args, info.name);
  const dir = await r50ModelDir(stringFlag(args, 'r50'), console.log);
  if (dir === null)
    console.log(
      'R-50 RetinaNet: NOT RUN: no Python with torch and torchvision to export one (GHMDET_PYTHON, python3); ' +
        'pass --r50 MODEL_DIR (ghmdet import of retinanet_resnet50_fpn)',
    );
  else {
    const runs = intFlag('bench:detector', args, 'r50-runs', 3, 1);
    await benchImportedR50(dir, runs, console.log);
    if (args.flags['no-browser'] !== true) await benchImportedR50Browser(dir, runs, console.log);
  }
}

/** The shapes-preset figures: training step by loss granularity, target encoding, detect(). */
async function shapesFigures(args: ReturnType<typeof parseArgs>, backend: string): Promise<void> {
  const batch = intFlag('bench:detector', args, 'batch', 8, 1);
  const size = intFlag('bench:detector', args, 'size', 128, 32);
  const steps = intFlag('bench:detector', args, 'steps', 3, 1);
  const rng = new Random(5);
  const images = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const gts = syntheticTargets(batch, size, rng, SHAPES_CONFIG.numClasses, [12, 80]);
  const variants = (['level', 'batch'] as const).map((g) => {
    const model = new RetinaNet(
      { ...SHAPES_CONFIG, head: { ...SHAPES_CONFIG.head, loss_granularity: g } },
      { seed: 1 },
    );
    return { name: g, model, optimizer: tf.train.momentum(0.01, 0.9), times: [] as number[] };
  });
  console.log(
    `backend ${backend}; batch ${batch}, ${size}x${size}; ${variants[0]!.model.numParameters()} parameters; ` +
      `${steps} timed steps per variant`,
  );
  for (let i = 0; i <= steps; i++) {
    for (const v of variants) {
      const t0 = performance.now();
      const loss = v.optimizer.minimize(() => v.model.computeLoss(images, gts).loss, true, v.model.variables);
      const value = loss!.dataSync()[0]!;
      loss!.dispose();
      const s = (performance.now() - t0) / 1000;
      if (i > 0) v.times.push(s);
      console.log(
        `  ${v.name} step ${i}${i === 0 ? ' (warm-up)' : ''}: ${s.toFixed(2)} s, loss ${value.toFixed(4)}`,
      );
    }
  }
  const [level, batchV] = variants;
  const lvl = median(level!.times);
  const bat = median(batchV!.times);
  console.log(
    `training step, granularity 'level': ${lvl.toFixed(2)} s = ${(batch / lvl).toFixed(2)} images/s`,
  );
  console.log(
    `training step, granularity 'batch': ${bat.toFixed(2)} s = ${(batch / bat).toFixed(2)} images/s`,
  );
  console.log(`ratio batch/level step time: ${(bat / lvl).toFixed(2)}`);

  const model = level!.model;
  const feats = model.forward(images, false);
  const sizes = feats.featureSizes;
  tf.dispose([...feats.clsLogits, ...feats.bboxDeltas]);
  const encodeTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    model.encodeTargets(sizes, gts);
    encodeTimes.push(performance.now() - t0);
  }
  const enc = median(encodeTimes) / 1000;
  console.log(
    `target encoding (assigner + coder) per batch: ${(enc * 1000).toFixed(1)} ms = ${((100 * enc) / lvl).toFixed(1)} % of a step`,
  );

  const image = tf.tidy(() =>
    tf.mul(tf.randomUniform([size, size, 3], 0, 1, 'float32', 9), 255),
  ) as tf.Tensor3D;
  const detectTimes: number[] = [];
  let count = 0;
  for (let i = 0; i <= 5; i++) {
    const t0 = performance.now();
    count = (await model.detect(image, ALL_DETECTIONS)).length;
    if (i > 0) detectTimes.push(performance.now() - t0);
  }
  console.log(
    `detect() on one ${size}x${size} image: ${median(detectTimes).toFixed(1)} ms (${count} detections)`,
  );
  image.dispose();
  images.dispose();
  for (const v of variants) {
    v.model.dispose();
    v.optimizer.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

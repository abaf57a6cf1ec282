/**
 * Training-step time of detector configs side by side, interleaved step by step in one process (wasm by
 * default): for each config file, its model (`model` section, merged over its preset) at its input size
 * (`model.preprocess.img_scale`), trained by momentum SGD at lr 0.001 (small enough that training on noise
 * stays finite without warm-up or clipping) on seeded noise images with 1-4 boxes of 20-60 % of the image
 * side. A step is forward, loss, backward and the SGD update, read back. The figures are medians of the timed
 * steps (the first two warm up and are not timed) and each config's ratio to the first.
 *
 *   npm run bench:config-step -- --configs A.json,B.json[,...] [--backend wasm|cpu] [--batch 8] [--steps 12] [--json]
 *
 * With --json the last line is `[{ "config", "parameters", "step_ms", "images_per_s", "ratio" }, ...]`. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { intFlag, parseArgs, stringFlag } from './args.js';
import { loadConfigFile } from '../src/config.js';
import { RetinaNet } from '../src/detector/retinaNet.js';
import { setupBackend } from '../src/engine/backend.js';
import { Random } from '../src/utils/random.js';
import { median, syntheticTargets } from './synthetic.js';

const WARM_UP = 2;

async function main(): Promise<void> {
  const args = parseArgs('bench:config-step', process.argv.slice(2), {
    configs: { type: 'string', description: 'comma-separated config files (the first is the reference)' },
    backend: { type: 'string', description: 'backend (default wasm)' },
    batch: { type: 'string', description: 'images per training step (default 8)' },
    steps: { type: 'string', description: 'timed steps per config (default 12)' },
    json: { type: 'boolean', description: 'print the figures as JSON on the last line' },
  });
  const files = (stringFlag(args, 'configs') ?? '').split(',').filter((f) => f !== '');
  if (files.length === 0) {
    throw new Error(
      'bench:config-step: --configs expects one or more comma-separated config files, got none',
    );
  }
  const info = await setupBackend({ backend: stringFlag(args, 'backend') ?? 'wasm' });
  const batch = intFlag('bench:config-step', args, 'batch', 8, 1);
  const steps = intFlag('bench:config-step', args, 'steps', 12, 1);
  const variants = [];
  for (const file of files) {
    const config = await loadConfigFile(file);
    const model = new RetinaNet(config.model, { seed: 1 });
    const [h, w] = config.model.preprocess.img_scale;
    const images = tf.randomNormal([batch, h, w, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const side = Math.min(h, w);
    const gts = syntheticTargets(batch, side, new Random(5), config.model.numClasses, [
      0.2 * side,
      0.6 * side,
    ]);
    variants.push({
      file,
      model,
      images,
      gts,
      optimizer: tf.train.momentum(0.001, 0.9),
      times: [] as number[],
    });
  }
  console.log(
    `backend ${info.name}; batch ${batch}; ${steps} timed steps per config after ${WARM_UP} warm-up`,
  );
  for (let i = 0; i < WARM_UP + steps; i++) {
    for (const v of variants) {
      const t0 = performance.now();
      const loss = v.optimizer.minimize(
        () => v.model.computeLoss(v.images, v.gts).loss,
        true,
        v.model.variables,
      );
      loss!.dataSync();
      loss!.dispose();
      if (i >= WARM_UP) v.times.push(performance.now() - t0);
    }
  }
  const reference = median(variants[0]!.times);
  const rows = variants.map((v) => {
    const ms = median(v.times);
    return {
      config: v.file,
      parameters: v.model.numParameters(),
      step_ms: ms,
      images_per_s: (1000 * batch) / ms,
      ratio: ms / reference,
    };
  });
  for (const r of rows) {
    console.log(
      `${r.config}: ${r.parameters} parameters, median step ${r.step_ms.toFixed(1)} ms = ` +
        `${r.images_per_s.toFixed(1)} images/s, ${r.ratio.toFixed(2)}x the first`,
    );
  }
  for (const v of variants) {
    v.images.dispose();
    v.model.dispose();
    v.optimizer.dispose();
  }
  if (args.flags.json === true) console.log(JSON.stringify(rows));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

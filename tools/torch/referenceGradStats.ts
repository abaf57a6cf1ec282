/**
 * Gradient statistics of weights trained by the PyTorch implementation of the suite: its state dict (written by
 * `WEIGHTS=DIR train_reference.py`) is loaded into ghmdet's model of the same net (the two compute the same
 * function for the same weights: see compareReference.ts), which then goes over training images exactly as
 * `ghmdet analyze` does (no flips, BatchNorm in inference mode, the training assigner), so both implementations'
 * models are measured by one instrument.
 *
 *   npx tsx tools/torch/referenceGradStats.ts --weights DIR --config configs/shapes_ghmc_ghmr.json \
 *     --data data/shapes600 --num-images 256 --iteration 1500 --out stats.json
 *
 * The statistics follow the config's losses (GHM-R's mu and bins) as `ghmdet analyze` does. Prints the summary
 * lines of `ghmdet analyze` and writes the GradientStats JSON to --out.
 */
import * as tf from '@tensorflow/tfjs';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { intFlag, parseArgs, stringFlag } from '../../bench/args.js';
import { addDetectorBatch } from '../../src/analysis/collectGradientStats.js';
import { GradientStatsAccumulator } from '../../src/analysis/gradientStats.js';
import { describeStats, statsOptionsFor } from '../../src/cli/analyze.js';
import { loadConfigFile, type GhmdetConfig } from '../../src/config.js';
import type { GradientStats } from '../../src/analysis/gradientStats.js';
import type { RetinaNet } from '../../src/detector/retinaNet.js';
import { setupBackend } from '../../src/engine/backend.js';
import { DetectorBatches } from '../../src/train/detectorBatches.js';
import { buildModel, loadData } from '../../src/train/detectorRun.js';
import { convertStateDict } from './shapesNetWeights.js';
import { readTensorDump, type DumpedTensor } from './tensorDump.js';

function assignWeights(model: RetinaNet, weights: Map<string, DumpedTensor>): void {
  const vars = model.namedVariables();
  for (const [name, v] of vars) {
    const w = weights.get(name);
    if (w === undefined) throw new Error(`the weights have no tensor for ${name}`);
    if (w.values.length !== v.size) throw new Error(`${name}: [${w.shape}] vs ghmdet [${v.shape}]`);
    tf.tidy(() => v.assign(tf.tensor(w.values, v.shape, 'float32')));
  }
  if (weights.size !== vars.size)
    throw new Error(`the weights hold ${weights.size} tensors, ghmdet ${vars.size}`);
}

/**
 * The gradient statistics of the weights in `weightsDir` over the first `numImages` training images of the
 * config's dataset (unflipped training loader, the config's data seed: the same images `ghmdet analyze` and the
 * trainer's statistics hook take first). The backend must be set up.
 */
export async function referenceGradientStats(
  weightsDir: string,
  config: GhmdetConfig,
  numImages: number,
  iteration: number | null,
): Promise<GradientStats> {
  const model = buildModel(config);
  try {
    assignWeights(
      model,
      convertStateDict(readTensorDump(weightsDir).tensors, config.model.head.stackedConvs),
    );
    const { train } = await loadData(config.data, (l) => console.error(l));
    const source = DetectorBatches.forTraining(train, {
      batchSize: config.data.batch_size,
      flipRatio: 0,
      seed: config.data.seed,
      preprocess: config.model.preprocess,
    });
    const acc = new GradientStatsAccumulator(statsOptionsFor(config.model));
    for (let seen = 0; seen < Math.min(numImages, train.images.length);) {
      const batch = await source.next();
      try {
        addDetectorBatch(acc, model, batch.data);
      } finally {
        batch.dispose();
      }
      seen += batch.images;
    }
    return acc.result(iteration);
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  const args = parseArgs('referenceGradStats', process.argv.slice(2), {
    weights: { type: 'string', description: 'folder written by WEIGHTS=DIR train_reference.py' },
    config: { type: 'string', description: 'ghmdet config of the same net and losses' },
    data: { type: 'string', description: 'the shapes folder (overrides the config data.root)' },
    'num-images': { type: 'string', description: 'training images to go over (default 256)' },
    iteration: { type: 'string', description: 'iteration recorded in the statistics' },
    out: { type: 'string', description: 'GradientStats JSON file to write' },
  });
  const weightsDir = stringFlag(args, 'weights');
  const configFile = stringFlag(args, 'config');
  const out = stringFlag(args, 'out');
  if (weightsDir === undefined || configFile === undefined || out === undefined)
    throw new Error('--weights DIR, --config FILE and --out FILE are required');
  const numImages = intFlag('referenceGradStats', args, 'num-images', 256, 1);
  const iteration = intFlag('referenceGradStats', args, 'iteration', -1, 0);
  await setupBackend({ backend: 'wasm' });
  let config = await loadConfigFile(configFile);
  const dataRoot = stringFlag(args, 'data');
  if (dataRoot !== undefined) config = { ...config, data: { ...config.data, root: dataRoot } };
  const stats = await referenceGradientStats(weightsDir, config, numImages, iteration < 0 ? null : iteration);
  await writeFile(out, JSON.stringify(stats) + '\n');
  for (const line of describeStats(stats)) console.log(line);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}

/**
 * A training process for the fault-injection tests: the toy model of test/train/toy.ts on the cpu backend,
 * a checkpoint every iteration, run with `node --import tsx test/faults/trainChild.ts RUN_DIR [options]`.
 *
 *   --resume             continue the folder's checkpoint
 *   --max-iters N        run length (default 24)
 *   --seed N             the model's and the data's seed (default 3)
 *   --kill-at-rename K   SIGKILL itself at the K-th atomic rename of a checkpoint file (1-based): a kill -9
 *                        between a written, synced temp file and its rename
 *   --wait-for FILE      after start-up, wait until FILE exists (to start several processes at one moment)
 * Prints `ready` once loaded and `step N` after each iteration on stdout; messages go to stderr. Exits 0 when the
 * run is complete, 1 with the error on stderr otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { train } from '../../src/train/trainer.js';
import { ToyModel, ToySource } from '../train/toy.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    resume: { type: 'boolean', default: false },
    'max-iters': { type: 'string', default: '24' },
    seed: { type: 'string', default: '3' },
    'kill-at-rename': { type: 'string' },
    'wait-for': { type: 'string' },
  },
});
const runDir = positionals[0]!;
await tf.setBackend('cpu');
const seed = Number(values.seed);
const model = new ToyModel(seed);
const source = new ToySource(seed + 1);
process.stdout.write('ready\n');
if (values['wait-for'] !== undefined)
  while (!existsSync(values['wait-for'])) await new Promise((r) => setTimeout(r, 5));
let renames = 0;
const killAt = values['kill-at-rename'] === undefined ? -1 : Number(values['kill-at-rename']);
try {
  await train(model, source, {
    runDir,
    maxIters: Number(values['max-iters']),
    schedule: { baseLr: 0.05, warmupIters: 3, steps: [16] },
    optimizer: { momentum: 0.9, weightDecay: 1e-3 },
    gradClipMaxNorm: 5,
    logInterval: 1,
    checkpointInterval: 1,
    keepCheckpoints: 2,
    resume: values.resume,
    config: { toy: true, seed },
    progress: false,
    message: (line) => process.stderr.write(line + '\n'),
    afterIteration: async ({ iter }) => void process.stdout.write(`step ${iter}\n`),
    checkpointBeforeRename: () => {
      if (++renames === killAt) process.kill(process.pid, 'SIGKILL');
    },
  });
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}

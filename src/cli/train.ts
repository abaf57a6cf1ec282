/**
 * `ghmdet train --config FILE [--data DIR] [--out RUN_DIR] [--resume] [--workers N] [--backend B]`:
 * trains the detector of a config file, evaluates it on the validation split and prints the COCO summary.
 * With `--resume` and no `--config`, the run folder's own `config.json` is used.
 */
import { join } from 'node:path';
import { loadConfigFile, parseConfig, type GhmdetConfig } from '../config.js';
import { setupBackend } from '../engine/backend.js';
import { formatSummary } from '../eval/cocoSummary.js';
import { CONFIG_FILE } from '../train/trainer.js';
import { trainDetector } from '../train/detectorRun.js';
import { helpText, intFlag, parseArgs, stringFlag, type FlagSpec } from './args.js';

export const summary =
  'train a detector from a config file (run folder with checkpoints, log and evaluation)';

const spec: Record<string, FlagSpec> = {
  config: { type: 'string', description: 'config file (JSON: { model, data, train, eval }); see configs/' },
  data: { type: 'string', description: 'dataset folder, overrides data.root' },
  out: { type: 'string', description: 'run folder (default: runs/<config file name>)' },
  resume: { type: 'boolean', description: 'continue the run folder from its checkpoint' },
  'max-iters': { type: 'string', description: 'override the run length in iterations (train.max_iters)' },
  workers: {
    type: 'string',
    description:
      "data-parallel replicas, one thread each (default: the config's train.workers, else 1); data.batch_size must be a multiple",
  },
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  help: { type: 'boolean', description: 'show this help' },
};

/** Applies the command-line overrides to a config. */
function withOverrides(
  config: GhmdetConfig,
  data: string | undefined,
  maxIters: number,
  workers: number,
): GhmdetConfig {
  let c = config;
  if (data !== undefined) c = { ...c, data: { ...c.data, root: data } };
  if (maxIters > 0) {
    const { total_epochs: _unused, ...rest } = c.train;
    c = parseConfig({ ...c, train: { ...rest, max_iters: maxIters } });
  }
  // In the config, so the run folder's config.json resumes with the same count.
  if (workers > 0) c = parseConfig({ ...c, train: { ...c.train, workers } }, '--workers');
  return c;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('train', argv, spec);
  if (args.flags['help']) {
    console.log(helpText('train', summary, spec));
    return 0;
  }
  const configPath = stringFlag(args, 'config');
  const resume = args.flags['resume'] === true;
  let out = stringFlag(args, 'out');
  if (configPath === undefined && !(resume && out !== undefined)) {
    throw new Error('train: --config FILE is required (or --resume with --out RUN_DIR to continue a run)');
  }
  const workers = args.flags['workers'] === undefined ? 0 : intFlag('train', args, 'workers', 1, 1);
  const maxIters = intFlag('train', args, 'max-iters', 0, 1);
  out ??= join('runs', configPath!.replace(/^.*[\\/]/, '').replace(/\.json$/, ''));
  const base =
    configPath !== undefined
      ? await loadConfigFile(configPath)
      : await loadConfigFile(join(out, CONFIG_FILE));
  const config = withOverrides(base, stringFlag(args, 'data'), maxIters, workers);

  const log = (line: string) => process.stderr.write(line + '\n');
  await setupBackend({ backend: stringFlag(args, 'backend'), log });
  const controller = new AbortController();
  const onSigint = () => {
    log('interrupt: finishing this step and saving a checkpoint (again to quit at once)');
    controller.abort();
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  try {
    const r = await trainDetector(config, {
      runDir: out,
      resume,
      log,
      signal: controller.signal,
    });
    r.model.dispose();
    log(
      `trained ${r.train.iteration} iterations in ${r.train.seconds.toFixed(1)} s` +
        (r.train.stopped ? ' (interrupted; continue with --resume)' : '') +
        `; run folder ${out}`,
    );
    if (r.evaluation !== null) console.log(formatSummary(r.evaluation.stats));
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

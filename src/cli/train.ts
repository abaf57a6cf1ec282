/**
 * `ghmdet train (--config FILE | --resume --out DIR) [options]`: trains the detector of a config file, evaluates
 * it on the validation split and prints the COCO summary. With `--resume` and no `--config`, the run folder's own
 * `config.json` is used. Ctrl-C finishes the step, saves a checkpoint and exits 130. `--init DIR` starts from a
 * model directory's matching weights (an imported PyTorch model or backbone; `model.init_from` in the config).
 */
import { join } from 'node:path';
import type { GhmdetConfig, parseConfig as ParseConfig } from '../config.js';
import {
  EXIT,
  Option,
  UsageError,
  action,
  backendOption,
  integer,
  newCommand,
  runCommand,
  withInterrupt,
  type Command,
} from './command.js';

interface TrainFlags {
  config?: string;
  data?: string;
  out?: string;
  resume?: boolean;
  maxIters?: number;
  workers?: number;
  init?: string;
  backend?: string;
}

export function command(): Command {
  const cmd = newCommand('train', {
    summary: 'train a detector from a config file (run folder with checkpoints, log and evaluation)',
    usage: '(--config FILE | --resume --out DIR) [options]',
    details:
      "With --resume and no --config, the run folder's own config.json is used. Ctrl-C finishes the step, " +
      'saves a checkpoint and exits 130; --resume continues from it.',
    positionalFlag: '--config',
  })
    .addOption(
      new Option('--config <FILE>', 'config file (JSON: { model, data, train, eval }); see configs/'),
    )
    .addOption(new Option('--data <DIR>', 'dataset folder, overrides data.root'))
    .addOption(new Option('--out <DIR>', 'run folder (default: runs/NAME for a config file NAME.json)'))
    .addOption(new Option('--resume', 'continue the run folder from its checkpoint'))
    .addOption(
      new Option('--max-iters <N>', 'override the run length in iterations (train.max_iters)').argParser(
        integer(1),
      ),
    )
    .addOption(
      new Option(
        '--workers <N>',
        "data-parallel replicas, one thread each (default: the config's train.workers, else 1); " +
          'data.batch_size must be a multiple',
      ).argParser(integer(1)),
    )
    .addOption(
      new Option(
        '--init <DIR>',
        "start from a model directory's weights that match by name and shape (ghmdet import; model.init_from); " +
          "without a preset in the config, the directory's architecture is the model's base",
      ),
    )
    .addOption(backendOption());
  return action<TrainFlags>(cmd, train);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

/** Applies the command-line overrides to a config. */
function withOverrides(
  config: GhmdetConfig,
  flags: TrainFlags,
  parseConfig: typeof ParseConfig,
): GhmdetConfig {
  let c = config;
  if (flags.data !== undefined) c = { ...c, data: { ...c.data, root: flags.data } };
  if (flags.maxIters !== undefined) {
    const { total_epochs: _unused, ...rest } = c.train;
    c = parseConfig({ ...c, train: { ...rest, max_iters: flags.maxIters } });
  }
  // In the config, so the run folder's config.json resumes with the same count.
  if (flags.workers !== undefined)
    c = parseConfig({ ...c, train: { ...c.train, workers: flags.workers } }, '--workers');
  return c;
}

async function train(flags: TrainFlags): Promise<number> {
  const resume = flags.resume === true;
  if (flags.config === undefined && !(resume && flags.out !== undefined)) {
    throw new UsageError('give --config FILE (or --resume with --out DIR to continue a run)');
  }
  const { loadConfigFile, parseConfig } = await import('../config.js');
  const { setupBackend } = await import('../engine/backend.js');
  const { formatSummary } = await import('../eval/cocoSummary.js');
  const { CONFIG_FILE } = await import('../train/trainer.js');
  const { trainDetector } = await import('../train/detectorRun.js');

  const out = flags.out ?? join('runs', flags.config!.replace(/^.*[\\/]/, '').replace(/\.json$/, ''));
  if (flags.init !== undefined && flags.config === undefined)
    throw new UsageError('--init DIR starts a new run from a config: give --config FILE');
  const base = await loadConfigFile(flags.config ?? join(out, CONFIG_FILE), flags.init);
  const config = withOverrides(base, flags, parseConfig);

  const log = (line: string) => process.stderr.write(line + '\n');
  await setupBackend({ backend: flags.backend, log });
  const r = await withInterrupt(log, (signal) => trainDetector(config, { runDir: out, resume, log, signal }));
  r.model.dispose();
  log(
    `trained ${r.train.iteration} iterations in ${r.train.seconds.toFixed(1)} s` +
      (r.train.stopped ? ' (interrupted; continue with --resume)' : '') +
      `; run folder ${out}`,
  );
  if (r.evaluation !== null) console.log(formatSummary(r.evaluation.stats));
  return r.train.stopped ? EXIT.interrupted : EXIT.ok;
}

/**
 * `ghmdet experiment FILE [--out DIR] [--max-iters N] [--only NAMES] [--dry-run | --tabulate]`: runs the training
 * runs of an experiment file (src/analysis/experimentPlan.ts) one after the other, skipping finished ones, and
 * writes the results table (OUT/results.json, OUT/results.md). Running the same command again resumes an
 * interrupted experiment. `--max-iters` overrides every run's length (a smoke budget; use another `--out`).
 * `--tabulate` writes the results table from the run folders as they are (unfinished runs listed, left out of the
 * means).
 */
import { join } from 'node:path';
import {
  EXIT,
  Option,
  action,
  backendOption,
  commaList,
  integer,
  newCommand,
  runCommand,
  type Command,
} from './command.js';

interface ExperimentFlags {
  out?: string;
  maxIters?: number;
  only?: string[];
  dryRun?: boolean;
  tabulate?: boolean;
  progress?: boolean;
  backend?: string;
}

export function command(): Command {
  const cmd = newCommand('experiment', {
    summary: 'run the training runs of an experiment file (resumable) and tabulate their results',
    usage: 'FILE [options]',
    details: 'Running the same command again resumes an interrupted experiment; finished runs are skipped.',
  })
    .argument('<FILE>', 'experiment file, e.g. configs/experiments/paper.json')
    .addOption(new Option('--out <DIR>', "folder of the run folders and results (default: the file's out)"))
    .addOption(
      new Option('--max-iters <N>', 'override every run length in iterations (smoke runs)').argParser(
        integer(1),
      ),
    )
    .addOption(
      new Option('--only <NAMES>', 'run names to run, comma-separated (default: all)').argParser(commaList),
    )
    .addOption(new Option('--dry-run', 'list the runs and whether they are finished, run nothing'))
    .addOption(
      new Option(
        '--tabulate',
        'write the results table from the run folders as they are, run nothing',
      ).conflicts('dryRun'),
    )
    .addOption(new Option('--progress', "show each run's progress bar"))
    .addOption(backendOption());
  return action<ExperimentFlags>(cmd, experiment);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

async function experiment(flags: ExperimentFlags, [file]: string[]): Promise<number> {
  const { parseConfig } = await import('../config.js');
  const { expandExperiment, loadExperimentPlan } = await import('../analysis/experimentPlan.js');
  const { isFinished, runExperiment, writeExperimentResults, RESULTS_MD } =
    await import('../analysis/experimentRunner.js');

  const plan = await loadExperimentPlan(file!);
  const out = flags.out ?? plan.out;
  const runs = await expandExperiment(plan, {
    out,
    ...(flags.maxIters !== undefined ? { overrides: { train: { max_iters: flags.maxIters } } } : {}),
    ...(flags.only !== undefined ? { only: flags.only } : {}),
  });
  if (flags.dryRun) {
    for (const r of runs) {
      parseConfig(r.config, `${plan.file} run ${r.id}`); // a broken override fails here, before any training
      console.log(`${(await isFinished(r.runDir)) ? 'finished' : 'to run  '}  ${r.runDir}`);
    }
    return EXIT.ok;
  }
  if (flags.tabulate) {
    const results = await writeExperimentResults(plan, runs, out);
    const done = results.runs.filter((r) => r.finished).length;
    console.log(`experiment: ${done} of ${runs.length} runs finished; results in ${join(out, RESULTS_MD)}`);
    return EXIT.ok;
  }
  const { setupBackend } = await import('../engine/backend.js');
  const { trainDetector } = await import('../train/detectorRun.js');
  await setupBackend({ backend: flags.backend, log: (l) => console.error(l) });
  const progress = flags.progress === true;
  const outcome = await runExperiment(plan, runs, {
    out,
    log: (l) => console.error(`experiment: ${l}`),
    train: async (config, runDir) => {
      const r = await trainDetector(config, { runDir, resume: true, progress, log: () => {} });
      r.model.dispose();
    },
  });
  console.log(
    `experiment: ${outcome.trained.length} trained, ${outcome.skipped.length} skipped, ` +
      `${outcome.failed.length} failed; results in ${join(out, RESULTS_MD)}`,
  );
  for (const f of outcome.failed) console.log(`  failed: ${f.id}: ${f.error}`);
  return outcome.failed.length > 0 ? EXIT.failure : EXIT.ok;
}

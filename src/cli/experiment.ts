/**
 * `ghmdet experiment FILE [--out DIR] [--max-iters N] [--only a,b] [--dry-run | --tabulate]`: runs the training
 * runs of an experiment file (src/analysis/experimentPlan.ts) one after the other, skipping finished ones, and
 * writes the results table (OUT/results.json, OUT/results.md). Running the same command again resumes an
 * interrupted experiment. `--max-iters` overrides every run's length (a smoke budget; use another `--out`). `--tabulate`
 * writes the results table from the run folders as they are (unfinished runs listed, left out of the means).
 */
import { parseConfig } from '../config.js';
import { setupBackend } from '../engine/backend.js';
import { expandExperiment, loadExperimentPlan } from '../analysis/experimentPlan.js';
import {
  isFinished,
  runExperiment,
  writeExperimentResults,
  RESULTS_MD,
} from '../analysis/experimentRunner.js';
import { trainDetector } from '../train/detectorRun.js';
import { helpText, intFlag, parseArgs, stringFlag, type FlagSpec } from './args.js';
import { join } from 'node:path';

export const summary = 'run the training runs of an experiment file (resumable) and tabulate their results';

const spec: Record<string, FlagSpec> = {
  out: { type: 'string', description: "folder of the run folders and results (default: the file's out)" },
  'max-iters': { type: 'string', description: 'override every run length in iterations (smoke runs)' },
  only: { type: 'string', description: 'comma-separated run names to run (default: all)' },
  'dry-run': { type: 'boolean', description: 'list the runs and whether they are finished, run nothing' },
  tabulate: {
    type: 'boolean',
    description: 'write the results table from the run folders as they are, run nothing',
  },
  progress: { type: 'boolean', description: 'show each run’s progress bar' },
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  help: { type: 'boolean', description: 'show this help' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('experiment', argv, spec);
  if (args.flags['help']) {
    console.log(`${helpText('experiment', summary, spec)}\n\nusage: ghmdet experiment FILE [options]`);
    return 0;
  }
  const file = args.positionals[0];
  if (file === undefined || args.positionals.length > 1) {
    console.error(
      `experiment: expected one experiment file, got ${args.positionals.length}; e.g. configs/experiments/paper.json`,
    );
    return 2;
  }
  const plan = await loadExperimentPlan(file);
  const maxIters = intFlag('experiment', args, 'max-iters', 0, 1);
  const out = stringFlag(args, 'out') ?? plan.out;
  const onlyFlag = stringFlag(args, 'only');
  const runs = await expandExperiment(plan, {
    out,
    ...(maxIters > 0 ? { overrides: { train: { max_iters: maxIters } } } : {}),
    ...(onlyFlag !== undefined ? { only: onlyFlag.split(',').map((s) => s.trim()) } : {}),
  });
  if (args.flags['dry-run']) {
    for (const r of runs) {
      parseConfig(r.config, `${plan.file} run ${r.id}`); // a broken override fails here, before any training
      console.log(`${(await isFinished(r.runDir)) ? 'finished' : 'to run  '}  ${r.runDir}`);
    }
    return 0;
  }
  if (args.flags['tabulate']) {
    const results = await writeExperimentResults(plan, runs, out);
    const done = results.runs.filter((r) => r.finished).length;
    console.log(`experiment: ${done} of ${runs.length} runs finished; results in ${join(out, RESULTS_MD)}`);
    return 0;
  }
  await setupBackend({ backend: stringFlag(args, 'backend'), log: (l) => console.error(l) });
  const progress = args.flags['progress'] === true;
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
  return outcome.failed.length > 0 ? 1 : 0;
}

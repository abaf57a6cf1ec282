/**
 * Runs the training runs of an experiment one after the other, resumably: a run whose folder holds its final
 * evaluation (`eval.json`) is skipped, any other run continues from its folder's checkpoint (or starts), so an
 * interrupted experiment is finished by running the same command again. A failing run (e.g. a non-finite loss)
 * is reported and the others still run. Then the results are collected from the run folders and written as
 * `OUT/results.json` and `OUT/results.md`.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig, type GhmdetConfig } from '../config.js';
import type { ExperimentPlan, ExperimentRun } from './experimentPlan.js';
import { resultsMarkdown, runResult, summarizeResults, type ExperimentResults } from './experimentResults.js';
import { RUN_EVAL_FILE, readRunFolder, type RunFolder } from './runFiles.js';

export const RESULTS_JSON = 'results.json';
export const RESULTS_MD = 'results.md';

/** Trains one run into `runDir`, resuming from its checkpoint when it has one. */
export type TrainRunFn = (config: GhmdetConfig, runDir: string) => Promise<void>;

export interface RunExperimentOptions {
  /** The trainer (the CLI passes `trainDetector`). */
  train: TrainRunFn;
  /** Folder for results.json / results.md. */
  out: string;
  /** Status lines. Default: none. */
  log?: (line: string) => void;
}

export interface ExperimentOutcome {
  trained: string[];
  skipped: string[];
  failed: { id: string; error: string }[];
  results: ExperimentResults;
}

/** True when the run folder holds its final evaluation. */
export async function isFinished(runDir: string): Promise<boolean> {
  try {
    await access(join(runDir, RUN_EVAL_FILE));
    return true;
  } catch {
    return false;
  }
}

async function readIfPresent(runDir: string): Promise<RunFolder | null> {
  try {
    return await readRunFolder(runDir);
  } catch {
    return null; // not started yet
  }
}

/** Collects the results of the runs from their folders and writes results.json and results.md into `out`. */
export async function writeExperimentResults(
  plan: ExperimentPlan,
  runs: ExperimentRun[],
  out: string,
): Promise<ExperimentResults> {
  const rows = [];
  for (const run of runs) rows.push(runResult(run, await readIfPresent(run.runDir)));
  const results = summarizeResults(plan, rows);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, RESULTS_JSON), JSON.stringify(results, null, 2) + '\n');
  await writeFile(join(out, RESULTS_MD), resultsMarkdown(plan, results));
  return results;
}

/** Runs what is not finished, in order, then writes the results. Configs are validated before anything runs. */
export async function runExperiment(
  plan: ExperimentPlan,
  runs: ExperimentRun[],
  options: RunExperimentOptions,
): Promise<ExperimentOutcome> {
  const log = options.log ?? (() => {});
  const configs = runs.map((r) => parseConfig(r.config, `${plan.file} run ${r.id}`));
  const outcome: Omit<ExperimentOutcome, 'results'> = { trained: [], skipped: [], failed: [] };
  for (const [i, run] of runs.entries()) {
    const tag = `[${i + 1}/${runs.length}] ${run.id}`;
    if (await isFinished(run.runDir)) {
      log(`${tag}: finished earlier, skipped`);
      outcome.skipped.push(run.id);
      continue;
    }
    log(`${tag}: training into ${run.runDir}`);
    try {
      await options.train(configs[i]!, run.runDir);
      outcome.trained.push(run.id);
    } catch (err) {
      const error = (err as Error).message;
      log(`${tag}: failed: ${error}`);
      outcome.failed.push({ id: run.id, error });
    }
  }
  const results = await writeExperimentResults(plan, runs, options.out);
  return { ...outcome, results };
}

/**
 * The experiment pipeline end to end on a smoke budget: two runs of configs/experiments/paper.json (GHM-C and
 * FL without warm-up) with a tiny model on a 64-pixel shapes dataset for 2 iterations, run, re-run (skipped),
 * one re-evaluated after losing its eval.json; then `ghmdet analyze` on a run folder and `ghmdet report`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupBackend } from '../../src/engine/backend.js';
import { expandExperiment, loadExperimentPlan } from '../../src/analysis/experimentPlan.js';
import { runExperiment, type TrainRunFn } from '../../src/analysis/experimentRunner.js';
import { readGradientStats } from '../../src/analysis/runFiles.js';
import { trainDetector } from '../../src/train/detectorRun.js';
import { run as analyzeCommand } from '../../src/cli/analyze.js';
import { run as reportCommand } from '../../src/cli/report.js';

const PAPER = fileURLToPath(new URL('../../configs/experiments/paper.json', import.meta.url));
let dir = '';

function tinyOverrides(root: string) {
  return {
    model: {
      backbone: { stemChannels: 8, widths: [8, 8, 8, 8] },
      neck: { outChannels: 8 },
      head: { stackedConvs: 1, featChannels: 8 },
      preprocess: { img_scale: [64, 64] },
    },
    data: { root, shapes: { train: 6, val: 2, size: 64 }, batch_size: 2 },
    train: { max_iters: 2, lr_config: { warmup_iters: 1, step: [5], by_epoch: false }, log_interval: 1 },
    eval: { interval: 0, max_images: 2 },
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-experiment-'));
  await setupBackend({});
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('experiment: smoke runs train, resume by skipping finished runs, and tabulate; analyze and report read them', async () => {
  const plan = await loadExperimentPlan(PAPER);
  const out = join(dir, 'runs');
  const runs = await expandExperiment(plan, {
    out,
    only: ['ghmc', 'fl-nowarmup'],
    seeds: [0],
    overrides: tinyOverrides(join(dir, 'shapes')),
  });
  const trained: string[] = [];
  const train: TrainRunFn = async (config, runDir) => {
    trained.push(runDir);
    const r = await trainDetector(config, { runDir, resume: true, progress: false, log: () => {} });
    r.model.dispose();
  };
  const first = await runExperiment(plan, runs, { train, out });
  assert.deepEqual(first.trained, ['ghmc-seed0', 'fl-nowarmup-seed0']);
  assert.deepEqual(first.failed, []);
  for (const r of first.results.runs) {
    assert.equal(r.finished, true, r.id);
    assert.equal(r.iterations, 2);
    assert.ok(r.AP !== null && r.AP >= -1 && r.AP <= 1, `${r.id}: AP ${r.AP}`);
  }
  const md = await readFile(join(out, 'results.md'), 'utf8');
  assert.match(
    md,
    /## Classification loss \(regression: smooth L1\)\n\n\| run \|.*\n\|---.*\n\| GHM-C \+ SL1 \| 0 \|/,
  );
  assert.match(
    md,
    /## Learning-rate warm-up.*\n\n.*\n.*\n\| GHM-C \+ SL1 \| 0 \|.*\n\| FL \+ SL1, no warm-up \| 0 \|/,
  );
  const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
  assert.equal(json.runs.length, 2);

  // again: nothing to do; after losing its eval.json a run resumes from its checkpoint and is evaluated again
  const second = await runExperiment(plan, runs, { train, out });
  assert.deepEqual(second.skipped, ['ghmc-seed0', 'fl-nowarmup-seed0']);
  assert.deepEqual(second.trained, []);
  await rm(join(out, 'fl-nowarmup-seed0', 'eval.json'));
  const third = await runExperiment(plan, runs, { train, out });
  assert.deepEqual(third.trained, ['fl-nowarmup-seed0']);
  assert.equal(third.results.runs[1]!.finished, true);
  assert.equal(trained.length, 3);

  const runDir = join(out, 'ghmc-seed0');
  const lines: string[] = [];
  const log = console.log;
  console.log = (l: string) => lines.push(l);
  try {
    assert.equal(await analyzeCommand(['--run', runDir, '--num-images', '2', '--batch-size', '2']), 0);
    assert.equal(
      await reportCommand([runDir, join(out, 'fl-nowarmup-seed0'), '--out', join(dir, 'r.html')]),
      0,
    );
  } finally {
    console.log = log;
  }
  const stats = await readGradientStats(runDir);
  assert.equal(stats.length, 1);
  assert.equal(stats[0]!.iteration, 2);
  assert.equal(stats[0]!.classification!.numClasses, 4);
  assert.equal(stats[0]!.classification!.ghmc.bins, 30);
  assert.equal(stats[0]!.regression!.ghmr.bins, 10); // paper default (the run's regression loss is smooth L1)
  assert.match(lines[0]!, /analyze: 2 training images at iteration 2 -> .*grad_stats_iter_000002.json/);
  // comparison (loss) 1 + run 1: loss + 6 gradient figures + run 2: loss
  assert.match(lines.at(-1)!, /report: wrote .*r.html \(2 run\(s\), 9 figures/);
  const html = await readFile(join(dir, 'r.html'), 'utf8');
  assert.match(html, /Final COCO evaluation \(iteration 2\)/);
});

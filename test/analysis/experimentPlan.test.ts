import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../src/config.js';
import {
  expandExperiment,
  loadExperimentPlan,
  mergeConfig,
  parseExperimentPlan,
} from '../../src/analysis/experimentPlan.js';
import {
  meanStd,
  resultsMarkdown,
  runResult,
  summarizeResults,
} from '../../src/analysis/experimentResults.js';
import { runExperiment, type TrainRunFn } from '../../src/analysis/experimentRunner.js';
import { parseRunLog, type RunFolder } from '../../src/analysis/runFiles.js';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, writeRun } from './fixtures.js';
import { run as experimentCommand } from '../../src/cli/experiment.js';

const PAPER = fileURLToPath(new URL('../../configs/experiments/paper.json', import.meta.url));

test('experiment plan: mergeConfig merges objects by key and replaces the rest', () => {
  const base = { a: { b: 1, c: [1, 2] }, d: 'x', e: { f: 1 } };
  const merged = mergeConfig(base, { a: { c: [3] }, d: null, e: { g: 2 }, h: 4 });
  assert.deepEqual(merged, { a: { b: 1, c: [3] }, d: null, e: { f: 1, g: 2 }, h: 4 });
  assert.deepEqual(base, { a: { b: 1, c: [1, 2] }, d: 'x', e: { f: 1 } }); // untouched
});

test('experiment plan: the paper file expands to valid configs with equal budgets and two seeds each', async () => {
  const plan = await loadExperimentPlan(PAPER);
  const runs = await expandExperiment(plan, { out: 'runs/x' });
  assert.equal(runs.length, plan.runs.length * 2);
  const byName = new Map(runs.map((r) => [r.id, r]));
  for (const r of runs) {
    const c = parseConfig(r.config, r.id);
    assert.equal(c.train.max_iters, 1500, `${r.id}: budget`);
    assert.deepEqual(c.train.lr_config.step, [1100, 1350], `${r.id}: schedule`);
    assert.equal(c.train.seed, r.seed);
    assert.equal(c.data.seed, r.seed);
    assert.equal(r.runDir, `runs/x/${r.id}`);
  }
  const tables = new Set(plan.runs.flatMap((r) => r.tables));
  assert.deepEqual([...tables].sort(), ['classification', 'cost', 'outliers', 'regression', 'warmup']);
  const cls = (id: string) =>
    (byName.get(id)!.config['model'] as { head: { loss_cls: { type: string } } }).head.loss_cls.type;
  assert.deepEqual(['ce-seed0', 'ohem-seed0', 'fl-seed0', 'ghmc-seed0'].map(cls), [
    'CrossEntropyLoss',
    'OHEMLoss',
    'FocalLoss',
    'GHMC',
  ]);
  // GHM-R at the default's mu 0.1 and at the reference's 0.02, the rest of the box loss alike
  const box = (id: string) => parseConfig(byName.get(id)!.config).model.head.loss_bbox;
  assert.deepEqual(box('ghmc-ghmr-seed0'), { ...box('ghmc-ghmr-mu002-seed0'), mu: 0.1 });
  assert.equal(box('ghmc-ghmr-mu002-seed1')['mu'], 0.02);
  const warm = parseConfig(byName.get('ghmc-nowarmup-seed1')!.config);
  assert.equal(warm.train.lr_config.warmup, null);
  const noisy = parseConfig(byName.get('fl-noise20-seed0')!.config);
  assert.deepEqual((noisy.data.shapes as { noise: unknown }).noise, { label: 0.2 });
  assert.notEqual(noisy.data.root, parseConfig(byName.get('fl-seed0')!.config).data.root);

  const smoke = await expandExperiment(plan, { only: ['ce'], overrides: { train: { max_iters: 2 } } });
  assert.deepEqual(
    smoke.map((r) => parseConfig(r.config).train.max_iters),
    [2, 2],
  );
  await assert.rejects(expandExperiment(plan, { only: ['nope'] }), /--only: unknown run\(s\) nope/);
});

test('experiment plan: invalid files are named with the problem', () => {
  const base = {
    tables: [{ name: 't', title: 'T' }],
    runs: [{ name: 'a', config: 'x.json', tables: ['t'] }],
  };
  assert.doesNotThrow(() => parseExperimentPlan(base, 'e.json'));
  assert.throws(
    () => parseExperimentPlan({ ...base, runs: [{ name: 'a', config: 'x.json', tables: ['u'] }] }, 'e.json'),
    /e.json: run a lists unknown table\(s\) u; known: t/,
  );
  assert.throws(
    () => parseExperimentPlan({ ...base, runs: [...base.runs, ...base.runs] }, 'e.json'),
    /run name "a" appears twice/,
  );
  assert.throws(
    () => parseExperimentPlan({ ...base, runs: [{ name: 'a b', config: 'x', tables: ['t'] }] }, 'e.json'),
    /runs.0.name: use letters/,
  );
});

test('experiment results: per-run rows, mean ± std over seeds, markdown tables', async () => {
  assert.deepEqual(meanStd([1, 3, null]), { mean: 2, std: Math.SQRT2, n: 2 });
  assert.equal(meanStd([null]), null);
  const plan = parseExperimentPlan(
    {
      description: 'test plan',
      tables: [
        { name: 'cls', title: 'Classification' },
        { name: 'cost', title: 'Cost' },
      ],
      runs: [
        {
          name: 'a',
          config: 'x.json',
          tables: ['cls', 'cost'],
          label: 'A loss',
          paper: { AP: 35.8, AP75: 38.1, s_per_iter: 0.824 },
        },
        { name: 'b', config: 'x.json', tables: ['cls'] },
      ],
      seeds: [0, 1],
    },
    'plan.json',
  );
  const folder = (ap: number, speed: number): RunFolder => ({
    dir: 'd',
    name: 'n',
    config: { data: { batch_size: 4 } },
    log: parseRunLog(
      [10, 20, 30]
        .map((iter) =>
          JSON.stringify({ mode: 'train', iter, loss: 1 / iter, images_per_s: iter === 10 ? 1 : speed }),
        )
        .join('\n'),
    ),
    gradStats: [],
    drawn: [],
    finalEval: {
      iter: 30,
      metrics: {
        'AP@[.50:.95]|all|100': ap,
        'AP@.50|all|100': 2 * ap,
        'AP@.75|all|100': ap / 2,
        'AP@[.50:.95]|small|100': ap / 4,
        'AP@[.50:.95]|medium|100': ap,
        'AP@[.50:.95]|large|100': -1,
      },
    },
  });
  const run = (name: string, seed: number) => ({
    id: `${name}-seed${seed}`,
    name,
    label: name === 'a' ? 'A loss' : name,
    seed,
    tables: name === 'a' ? ['cls', 'cost'] : ['cls'],
    runDir: `r/${name}-seed${seed}`,
    config: {},
  });
  const rows = [
    runResult(run('a', 0), folder(0.3, 2)),
    runResult(run('a', 1), folder(0.5, 4)),
    runResult(run('b', 0), folder(0.1, 2)),
    runResult(run('b', 1), null),
  ];
  assert.equal(rows[0]!.secondsPerIter, 2); // 4 images / 2 images/s, first interval left out
  assert.equal(rows[0]!.iterations, 30);
  assert.ok(Math.abs(rows[0]!.finalLoss! - 1 / 30) < 1e-12);
  assert.equal(rows[3]!.finished, false);
  const results = summarizeResults(plan, rows);
  const a = results.summary[0]!;
  assert.deepEqual(a.seeds, [0, 1]);
  assert.ok(Math.abs(a.AP!.mean - 0.4) < 1e-12);
  assert.ok(Math.abs(a.AP!.std - Math.sqrt(0.02)) < 1e-12);
  assert.deepEqual(results.summary[1]!.seeds, [0]);
  const md = resultsMarkdown(plan, results);
  assert.equal(rows[0]!.APl, null); // COCO's -1: no large objects
  assert.match(
    md,
    /## Classification\n\n\| run \| seeds \| AP \| AP50 \| AP75 \| APs \| APm \| APl \| s\/iter \| paper \(COCO\): AP \/ AP50 \/ AP75 \|/,
  );
  assert.match(
    md,
    /\| A loss \| 0, 1 \| 40\.0 ± 14\.1 \| 80\.0 ± 28\.3 \| 20\.0 ± 7\.1 \| 10\.0 ± 3\.5 \| 40\.0 ± 14\.1 \| – \| 1\.50 ± 0\.71 \| 35\.8 \/ – \/ 38\.1; 0\.824 s\/iter \|/,
  );
  assert.match(md, /\| b \| 0 \| 10\.0 \| 20\.0 \| 5\.0 \| 2\.5 \| 10\.0 \| – \| 2\.00 \| – \|/);
  assert.match(md, /Unfinished runs \(left out of the means\): b-seed1/);
  assert.equal(md.split('## Cost')[1]!.includes('| b |'), false);
});

test('experiment runner: a failing run is reported, the others run, and finished runs are skipped next time', async () => {
  const dir = await tempDir('runner');
  try {
    const plan = await loadExperimentPlan(PAPER);
    const runs = await expandExperiment(plan, { out: dir, only: ['ce', 'fl'], seeds: [0] });
    const calls: string[] = [];
    // A stand-in trainer: 'ce' diverges, 'fl' writes the files a finished run has.
    const train: TrainRunFn = async (config, runDir) => {
      calls.push(runDir);
      if (runDir.endsWith('ce-seed0')) throw new Error('loss is NaN at iteration 3');
      await writeRun(runDir, { iters: 30, evalIters: [30], statsIters: [], finalEval: true, config });
    };
    const first = await runExperiment(plan, runs, { train, out: dir });
    assert.deepEqual(first.trained, ['fl-seed0']);
    assert.deepEqual(first.failed, [{ id: 'ce-seed0', error: 'loss is NaN at iteration 3' }]);
    assert.equal(first.results.runs.find((r) => r.id === 'fl-seed0')!.AP, 0.3125);
    const md = await readFile(join(dir, 'results.md'), 'utf8');
    assert.match(md, /Unfinished runs \(left out of the means\): ce-seed0/);
    assert.match(md, /\| FL \+ SL1 \| 0 \| 31\.3 \| 50\.0 \| 25\.0 \|/);
    const second = await runExperiment(plan, runs, { train, out: dir });
    assert.deepEqual(second.skipped, ['fl-seed0']);
    assert.deepEqual(
      calls.map((c) => c.slice(dir.length + 1)),
      ['ce-seed0', 'fl-seed0', 'ce-seed0'],
    );
    await assert.rejects(
      runExperiment(plan, [{ ...runs[0]!, config: { train: {} } }], { train, out: dir }),
      /run ce-seed0: invalid config/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('experiment --tabulate: tables the run folders as they are and trains nothing', async () => {
  const dir = await tempDir('tabulate');
  try {
    const plan = await loadExperimentPlan(PAPER);
    const [fl] = await expandExperiment(plan, { out: dir, only: ['fl'], seeds: [0] });
    await writeRun(fl!.runDir, {
      iters: 30,
      evalIters: [30],
      statsIters: [],
      finalEval: true,
      config: fl!.config,
    });
    const lines: string[] = [];
    const log = console.log;
    console.log = (l: string) => lines.push(l);
    try {
      assert.equal(await experimentCommand([PAPER, '--out', dir, '--only', 'ce,fl', '--tabulate']), 0);
    } finally {
      console.log = log;
    }
    assert.match(lines[0]!, /^experiment: 1 of 4 runs finished; results in /);
    const md = await readFile(join(dir, 'results.md'), 'utf8');
    assert.match(md, /Unfinished runs \(left out of the means\): ce-seed0, ce-seed1, fl-seed1/);
    const json = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { experiment: string };
    assert.equal(json.experiment, 'configs/experiments/paper.json'); // relative, from the repository root
    assert.match(md, /\| FL \+ SL1 \| 0 \| 31\.3 \| 50\.0 \| 25\.0 \|.*\| 35\.6 \/ 55\.6 \/ 38\.2 \|/);
    // nothing was trained: the unfinished runs have no folder
    await assert.rejects(readFile(join(dir, 'ce-seed0', 'log.jsonl')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

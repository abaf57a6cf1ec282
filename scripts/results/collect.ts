/**
 * Collects the raw results of two studies of docs/results.md from their run folders into the JSON files its
 * figures are drawn from (scripts/results/figures.ts re-renders them without the runs):
 *
 *  - docs/results/imbalance.json: the imbalance sweep (configs/experiments/imbalance.json): per canvas size the
 *    exact anchor balance of the training split (src/analysis/measureAnchorBalance.ts), per run the final COCO
 *    numbers, AP at each IoU threshold, the validation curve and the cost, and the PyTorch implementation's runs
 *    of the same points (detections under runs/imbalance-oracle/, scored here with ghmdet's COCO evaluation);
 *  - docs/results/ghmr.json: the GHM-R study (configs/experiments/ghmr.json): the same per run, the gradient
 *    statistics each from-scratch run recorded every 100 iterations and, over more images, at its final
 *    weights, and the PyTorch implementation's GHM-R and smooth-L1 models (runs/ghmr-oracle/, weights written by
 *    tools/torch/train_reference.py) measured by the same instrument (tools/torch/referenceGradStats.ts).
 *
 *   npx tsx scripts/results/collect.ts [--only imbalance|ghmr]
 *
 * Unfinished runs are kept with `finished: false` and no final numbers, so the files can be written mid-way.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, stringFlag } from '../../bench/args.js';
import {
  expandExperiment,
  loadExperimentPlan,
  type ExperimentRun,
} from '../../src/analysis/experimentPlan.js';
import { runResult } from '../../src/analysis/experimentResults.js';
import { measureAnchorBalance } from '../../src/analysis/measureAnchorBalance.js';
import type { AnchorBalance } from '../../src/analysis/anchorBalance.js';
import type { GradientStats, RegressionGradientStats } from '../../src/analysis/gradientStats.js';
import { readRunFolder, type RunFolder } from '../../src/analysis/runFiles.js';
import { run as analyzeCommand } from '../../src/cli/analyze.js';
import { parseConfig, type GhmdetConfig } from '../../src/config.js';
import { shapesSplitPaths } from '../../src/data/shapes.js';
import { setupBackend } from '../../src/engine/backend.js';
import { readdirIfPresent } from '../../src/utils/files.js';
import { evaluateCoco } from '../../src/eval/cocoEval.js';
import type { CocoDetection, CocoGroundTruth } from '../../src/eval/cocoTypes.js';
import { buildModel, loadData } from '../../src/train/detectorRun.js';
import { referenceGradientStats } from '../../tools/torch/referenceGradStats.js';
import { readIfPresent, readJson } from './json.js';

const IMBALANCE_PLAN = 'configs/experiments/imbalance.json';
const GHMR_PLAN = 'configs/experiments/ghmr.json';
const IMBALANCE_ORACLE = 'runs/imbalance-oracle';
const GHMR_ORACLE = 'runs/ghmr-oracle';
/** Training images the final-weights gradient statistics go over. */
const FINAL_STATS_IMAGES = 256;

/** COCO numbers of a detections list: AP, AP50, AP75 and AP at every IoU threshold, in percent. */
function scores(gt: CocoGroundTruth, dets: CocoDetection[]) {
  const r = evaluateCoco(gt, dets);
  const pct = (v: number) => (v < 0 ? null : 100 * v);
  return {
    AP: pct(r.stats[0]!),
    AP50: pct(r.stats[1]!),
    AP75: pct(r.stats[2]!),
    apPerIou: Object.fromEntries(Object.entries(r.apPerIou).map(([k, v]) => [k, pct(v)])),
  };
}

/** Wall seconds of training: the trainer's `time` restarts at 0 on resume, so sessions are summed. */
function trainingSeconds(folder: RunFolder): number | null {
  let total = 0;
  let sessionMax = 0;
  let seen = false;
  for (const e of folder.log.train) {
    if (e.time === null) continue;
    seen = true;
    if (e.time < sessionMax) {
      total += sessionMax;
      sessionMax = 0;
    }
    sessionMax = Math.max(sessionMax, e.time);
  }
  return seen ? total + sessionMax : null;
}

/** What every run contributes: final numbers, per-IoU AP, the validation curve, the cost. */
async function runRecord(run: ExperimentRun, valGt: CocoGroundTruth) {
  let folder: RunFolder | null = null;
  try {
    folder = await readRunFolder(run.runDir);
  } catch {
    folder = null; // not started
  }
  const result = runResult(run, folder);
  const dets = result.finished
    ? await readIfPresent<CocoDetection[]>(join(run.runDir, 'results_val.json'))
    : null;
  return {
    id: run.id,
    name: run.name,
    label: run.label,
    seed: run.seed,
    finished: result.finished,
    iterations: result.iterations,
    ...(dets !== null ? scores(valGt, dets) : { AP: null, AP50: null, AP75: null, apPerIou: null }),
    curve: (folder?.log.val ?? []).map((e) => ({
      iter: e.iter,
      AP: 100 * (e.metrics['bbox_mAP'] ?? NaN),
      AP50: 100 * (e.metrics['bbox_mAP_50'] ?? NaN),
    })),
    secondsPerIter: result.secondsPerIter,
    trainSeconds: folder === null ? null : trainingSeconds(folder),
  };
}

/** The PyTorch implementation's run: its detections scored, and `train_s` from the last line it printed. */
async function oracleRecord(detections: string, log: string, valGt: CocoGroundTruth) {
  const dets = await readIfPresent<CocoDetection[]>(detections);
  if (dets === null) return null;
  let trainSeconds: number | null = null;
  try {
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    trainSeconds = (JSON.parse(lines[lines.length - 1]!) as { train_s: number }).train_s;
  } catch {
    trainSeconds = null;
  }
  return { ...scores(valGt, dets), trainSeconds };
}

/** One scored run of the PyTorch implementation at a point of the imbalance sweep. */
type OracleRun = { size: number; loss: string; seed: number; iterations?: number } & NonNullable<
  Awaited<ReturnType<typeof oracleRecord>>
>;

async function valGroundTruth(config: GhmdetConfig): Promise<CocoGroundTruth> {
  return readJson<CocoGroundTruth>(shapesSplitPaths(config.data.root, 'val').annotationFile);
}

async function anchorBalanceOf(config: GhmdetConfig): Promise<AnchorBalance> {
  const data = await loadData(config.data);
  const model = buildModel(config);
  try {
    return await measureAnchorBalance(model, config, data.train);
  } finally {
    model.dispose();
  }
}

async function collectImbalance(): Promise<void> {
  const plan = await loadExperimentPlan(IMBALANCE_PLAN);
  // The plan's seeds, and any other seed a run folder exists for (`--seeds 2` runs beyond the plan).
  const extraSeeds = (await readdirIfPresent(plan.out))
    .map((f) => /-seed(\d+)$/.exec(f))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .filter((seed) => !plan.seeds.includes(seed));
  const runs = [
    ...(await expandExperiment(plan)),
    ...(await expandExperiment(plan, { seeds: [...new Set(extraSeeds)] })).filter((r) =>
      existsSync(r.runDir),
    ),
  ];
  const sizes = [...new Set(runs.map((r) => Number(r.name.split('-')[1])))];
  const points = [];
  const ghmdet = [];
  const oracle: OracleRun[] = [];
  /** The PyTorch implementation at twice the schedule (3000 iterations, lr steps at 2200 and 2700): the budget check. */
  const oracleTwice: OracleRun[] = [];
  for (const size of sizes) {
    const first = runs.find((r) => r.name.endsWith(`-${size}`))!;
    const config = parseConfig(first.config, first.id);
    const shapes = config.data.shapes;
    console.error(`imbalance: ${size} px, counting the anchors of ${config.data.root}`);
    points.push({
      size,
      dataRoot: config.data.root,
      objectsPerImage: [shapes.minObjects ?? 1, shapes.maxObjects ?? 4],
      objectSizePx: [shapes.minObjectSize! * size, shapes.maxObjectSize! * size],
      trainImages: shapes.train,
      valImages: shapes.val,
      anchorBalance: await anchorBalanceOf(config),
    });
    const gt = await valGroundTruth(config);
    for (const run of runs.filter((r) => r.name.endsWith(`-${size}`))) {
      const loss = run.name.split('-')[0]!;
      ghmdet.push({ size, loss, ...(await runRecord(run, gt)) });
    }
    // The PyTorch implementation's runs of this canvas, every seed there is (it may have more than the plan).
    for (const [folder, into, extra] of [
      [IMBALANCE_ORACLE, oracle, {}],
      [join(IMBALANCE_ORACLE, 'x2'), oracleTwice, { iterations: 3000 }],
    ] as const) {
      const name = new RegExp(`^([a-z]+)-${size}-seed(\\d+)\\.json$`);
      const found = (await readdirIfPresent(folder))
        .map((f) => name.exec(f))
        .filter((m) => m !== null)
        .map((m) => ({ loss: m[1]!, seed: Number(m[2]) }))
        .sort((a, b) => a.loss.localeCompare(b.loss) || a.seed - b.seed);
      for (const { loss, seed } of found) {
        const base = join(folder, `${loss}-${size}-seed${seed}`);
        const o = await oracleRecord(`${base}.json`, `${base}.log`, gt);
        if (o !== null) into.push({ size, loss, seed, ...extra, ...o });
      }
    }
  }
  const out = { plan: IMBALANCE_PLAN, points, ghmdet, oracle, oracleTwice };
  await writeFile('docs/results/imbalance.json', JSON.stringify(out, null, 1) + '\n');
  console.error(
    `imbalance: ${ghmdet.filter((r) => r.finished).length} ghmdet runs, ${oracle.length} oracle runs`,
  );
}

/** The regression part of a statistics file, the fields the figures use. */
function regressionOf(stats: GradientStats) {
  const r = stats.regression as RegressionGradientStats;
  return {
    iteration: stats.iteration,
    positives: r.numPositives,
    ghmr: r.ghmr,
    fit: r.fit ?? null,
    coordinates: r.coordinates ?? null,
    fineCounts: r.fine.counts,
    positiveTop1: stats.classification?.positiveTop1 ?? null,
  };
}

async function collectGhmr(): Promise<void> {
  const plan = await loadExperimentPlan(GHMR_PLAN);
  const runs = await expandExperiment(plan);
  const config0 = parseConfig(runs[0]!.config, runs[0]!.id);
  const gt = await valGroundTruth(config0);
  const records = [];
  for (const run of runs) {
    const record: Record<string, unknown> = { ...(await runRecord(run, gt)), tables: run.tables };
    if (run.name.startsWith('scratch-')) {
      const folder = await readRunFolder(run.runDir).catch(() => null);
      record['overTraining'] = (folder?.gradStats ?? []).map(regressionOf);
      if (record['finished'] === true) {
        const file = join(run.runDir, 'final-stats.json');
        if ((await readIfPresent(file)) === null) {
          const code = await analyzeCommand([
            '--run',
            run.runDir,
            '--num-images',
            String(FINAL_STATS_IMAGES),
            '--out',
            file,
          ]);
          if (code !== 0) throw new Error(`ghmdet analyze --run ${run.runDir} exited ${code}`);
        }
        record['final'] = regressionOf(await readJson<GradientStats>(file));
      }
    }
    records.push(record);
  }
  // The PyTorch implementation's models of the same net: GHM-R (mu 0.02) after 300, 750 and 1500 iterations of
  // one run (each a run of that length: its first iterations are the longer run's), smooth L1 after 1500.
  const oracle = [];
  const configOf = (name: string) => parseConfig(runs.find((r) => r.name === name)!.config, name);
  for (const [tag, name, iteration] of [
    ['ghmr002-it300', 'scratch-ghmr002', 300],
    ['ghmr002-it750', 'scratch-ghmr002', 750],
    ['ghmr002-it1500', 'scratch-ghmr002', 1500],
    ['sl1-it1500', 'scratch-sl1', 1500],
  ] as const) {
    const base = join(GHMR_ORACLE, tag);
    const o = await oracleRecord(`${base}.json`, `${base}.log`, gt);
    if (o === null) continue;
    const statsFile = `${base}-stats.json`;
    let stats = await readIfPresent<GradientStats>(statsFile);
    if (stats === null) {
      stats = await referenceGradientStats(`${base}-weights`, configOf(name), FINAL_STATS_IMAGES, iteration);
      await writeFile(statsFile, JSON.stringify(stats) + '\n');
    }
    oracle.push({ tag, like: name, iteration, ...o, final: regressionOf(stats) });
  }
  const out = { plan: GHMR_PLAN, finalStatsImages: FINAL_STATS_IMAGES, runs: records, oracle };
  await writeFile('docs/results/ghmr.json', JSON.stringify(out, null, 1) + '\n');
  console.error(`ghmr: ${records.filter((r) => r['finished']).length} runs, ${oracle.length} oracle models`);
}

async function main(): Promise<void> {
  const args = parseArgs('collect', process.argv.slice(2), {
    only: { type: 'string', description: 'imbalance or ghmr (default: both)' },
  });
  const only = stringFlag(args, 'only');
  if (only !== undefined && only !== 'imbalance' && only !== 'ghmr')
    throw new Error(`collect: --only expects imbalance or ghmr, got ${JSON.stringify(only)}`);
  await setupBackend({ backend: 'wasm' });
  if (only !== 'ghmr') await collectImbalance();
  if (only !== 'imbalance') await collectGhmr();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});

/**
 * `ghmdet analyze --run RUN_DIR [--images N] [--batch-size B]`: loads the run's checkpoint, runs the model over
 * N training images (no flips, BatchNorm in inference mode) with the training assigner, pools their gradient
 * statistics (src/analysis/gradientStats.ts) and writes them to `RUN_DIR/analysis/grad_stats_iter_NNNNNN.json`
 * at the checkpoint's iteration, where `ghmdet report` finds them.
 *
 * The GHM-C / GHM-R unit regions, mu, the focal gamma and the smooth-L1 beta of the statistics follow the run's
 * own losses when it uses them, and the paper's defaults (30 / 10 regions, mu 0.02, gamma 2, beta 0.11)
 * otherwise.
 */
import { setupBackend } from '../engine/backend.js';
import { addDetectorBatch } from '../analysis/collectGradientStats.js';
import {
  GradientStatsAccumulator,
  type GradientStats,
  type GradientStatsOptions,
} from '../analysis/gradientStats.js';
import { writeGradientStats } from '../analysis/runFiles.js';
import type { RetinaNetConfig } from '../detector/config.js';
import { DetectorBatches } from '../train/detectorBatches.js';
import { loadData, loadRun } from '../train/detectorRun.js';
import { helpText, intFlag, parseArgs, stringFlag, type FlagSpec } from './args.js';

export const summary =
  "gradient-norm statistics of a run's checkpoint over training images (data of Fig. 1-3)";

const spec: Record<string, FlagSpec> = {
  run: { type: 'string', description: 'run folder (config.json + checkpoint)' },
  images: { type: 'string', description: 'training images to run through the model (default 32)' },
  'batch-size': { type: 'string', description: 'images per forward pass (default: data.batch_size)' },
  'fine-bins': { type: 'string', description: 'histogram bins over [0, 1] (default 100)' },
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  help: { type: 'boolean', description: 'show this help' },
};

/** Statistics options that match the run's losses (GHM bins, mu, focal gamma, smooth-L1 beta) where it has them. */
export function statsOptionsFor(model: RetinaNetConfig): GradientStatsOptions {
  const cls = model.head.loss_cls as Record<string, unknown>;
  const box = model.head.loss_bbox as Record<string, unknown>;
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const o: GradientStatsOptions = {};
  if (cls['type'] === 'GHMC' && num(cls['bins']) !== undefined) o.ghmcBins = num(cls['bins'])!;
  if (cls['type'] === 'FocalLoss' && num(cls['gamma']) !== undefined) o.focalGamma = num(cls['gamma'])!;
  if (box['type'] === 'GHMR') {
    if (num(box['bins']) !== undefined) o.ghmrBins = num(box['bins'])!;
    if (num(box['mu']) !== undefined) o.mu = num(box['mu'])!;
  }
  if (box['type'] === 'ASL1Loss' && num(box['mu']) !== undefined) o.mu = num(box['mu'])!;
  if (box['type'] === 'SmoothL1Loss' && num(box['beta']) !== undefined) o.smoothL1Beta = num(box['beta'])!;
  return o;
}

/**
 * Summary lines: where the gradient norm sits (the shares of easy (g < 0.1) and very hard (g >= 0.9) pairs), how much
 * of the background scores p >= 0.1, and the head's fit when the statistics hold it.
 */
export function describeStats(stats: GradientStats): string[] {
  const lines: string[] = [];
  const c = stats.classification;
  if (c !== null) {
    const f = c.fine;
    // Elements of `counts` in the fine bins whose centres lie in [lo, hi).
    const inRange = (counts: readonly number[], lo: number, hi: number): number =>
      counts.reduce((a, n, i) => a + ((i + 0.5) / f.bins >= lo && (i + 0.5) / f.bins < hi ? n : 0), 0);
    const share = (lo: number, hi: number): number => inRange(f.counts, lo, hi) / Math.max(c.numValid, 1);
    lines.push(
      `classification: ${c.numValid} valid (anchor, class) pairs, ${c.numPositive} positive; ` +
        `g < 0.1: ${(100 * share(0, 0.1)).toFixed(2)} %, g >= 0.9: ${(100 * share(0.9, 2)).toFixed(4)} %; ` +
        `${c.ghmc.nonEmpty}/${c.ghmc.bins} GHM-C regions occupied`,
    );
    // For a negative pair g = p, so the fine bins from g = 0.1 up count the background scored p >= 0.1.
    const risen = inRange(c.negativeCounts, 0.1, 2);
    lines.push(
      `classification background: ${risen} of ${c.numNegative} negative pairs ` +
        `(${((100 * risen) / Math.max(c.numNegative, 1)).toFixed(2)} %) score p >= 0.1`,
    );
    if (c.positiveTop1 !== undefined && c.positiveAnchors !== undefined)
      lines.push(
        `classification fit: top-scoring class = label on ${(100 * c.positiveTop1).toFixed(1)} % of ` +
          `${c.positiveAnchors} positive anchors (chance ${(100 / c.numClasses).toFixed(1)} %)`,
      );
  }
  const r = stats.regression;
  if (r !== null) {
    lines.push(
      `regression: ${r.numPositives} positives, ${r.numValid} coordinates; ` +
        `${r.ghmr.nonEmpty}/${r.ghmr.bins} GHM-R regions occupied`,
    );
    const f = r.fit;
    const coords = ['dx', 'dy', 'dw', 'dh'];
    if (f !== undefined)
      lines.push(
        'regression fit, correlation of predicted and target deltas (target std / predicted std): ' +
          coords
            .map(
              (n, i) =>
                `${n} ${f.correlation[i]!.toFixed(2)} (${f.targetStd[i]!.toFixed(3)} / ${f.predStd[i]!.toFixed(3)})`,
            )
            .join(', '),
      );
  }
  return lines;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('analyze', argv, spec);
  if (args.flags['help']) {
    console.log(helpText('analyze', summary, spec));
    return 0;
  }
  const runDir = stringFlag(args, 'run') ?? args.positionals[0];
  if (runDir === undefined) {
    console.error(
      'analyze: expected --run RUN_DIR (a run folder with config.json and a checkpoint), got none',
    );
    return 2;
  }
  const images = intFlag('analyze', args, 'images', 32, 1);
  const fineBins = intFlag('analyze', args, 'fine-bins', 100, 1);
  await setupBackend({ backend: stringFlag(args, 'backend'), log: (l) => console.error(l) });
  const loaded = await loadRun(runDir);
  try {
    const { config, model } = loaded;
    const data = await loadData(config.data, (l) => console.error(l));
    const available = data.train.images.length;
    const batchSize = Math.min(
      intFlag('analyze', args, 'batch-size', config.data.batch_size, 1),
      images,
      available,
    );
    const source = DetectorBatches.forTraining(data.train, {
      batchSize,
      flipRatio: 0,
      seed: config.data.seed,
      preprocess: config.model.preprocess,
    });
    const acc = new GradientStatsAccumulator({ ...statsOptionsFor(config.model), fineBins });
    const target = Math.min(images, available);
    let seen = 0;
    while (seen < target) {
      const batch = await source.next();
      try {
        addDetectorBatch(acc, model, batch.data);
      } finally {
        batch.dispose();
      }
      seen += batch.images;
    }
    const stats = acc.result(loaded.iteration);
    const path = await writeGradientStats(runDir, stats);
    console.log(`analyze: ${seen} training images at iteration ${loaded.iteration} -> ${path}`);
    for (const line of describeStats(stats)) console.log(`  ${line}`);
    return 0;
  } finally {
    loaded.model.dispose();
  }
}

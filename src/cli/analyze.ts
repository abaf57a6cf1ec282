/**
 * `ghmdet analyze --run DIR [--num-images N] [--batch-size N]`: loads the run's checkpoint, runs the model over
 * N training images (no flips, BatchNorm in inference mode) with the training assigner, pools their gradient
 * statistics (src/analysis/gradientStats.ts) and writes them to `DIR/analysis/grad_stats_iter_NNNNNN.json`
 * at the checkpoint's iteration, where `ghmdet report` finds them.
 *
 * The GHM-C / GHM-R unit regions, mu, the focal gamma and the smooth-L1 beta of the statistics follow the run's
 * own losses when it uses them, and the paper's defaults (30 / 10 regions, mu 0.02, gamma 2, beta 0.11)
 * otherwise.
 */
import type { GradientStats, GradientStatsOptions } from '../analysis/gradientStats.js';
import type { RetinaNetConfig } from '../detector/config.js';
import {
  EXIT,
  Option,
  action,
  backendOption,
  deprecatedAlias,
  integer,
  newCommand,
  required,
  runCommand,
  type Command,
} from './command.js';

interface AnalyzeFlags {
  run: string;
  numImages: number;
  batchSize?: number;
  fineBins: number;
  backend?: string;
}

export function command(): Command {
  const cmd = newCommand('analyze', {
    summary: "gradient-norm statistics of a run's checkpoint over training images (data of Fig. 1-3)",
    usage: '--run DIR [options]',
    details:
      "Writes DIR/analysis/grad_stats_iter_NNNNNN.json at the checkpoint's iteration, where ghmdet report finds " +
      "it. The statistics follow the run's own GHM / focal / smooth-L1 parameters where it has them.",
    positionalFlag: '--run',
  })
    .addOption(required(new Option('--run <DIR>', 'run folder (config.json + checkpoint)')))
    .addOption(
      new Option('--num-images <N>', 'training images to run through the model')
        .argParser(integer(1))
        .default(32),
    )
    .addOption(
      new Option(
        '--batch-size <N>',
        "images per forward pass (default: the run's data.batch_size)",
      ).argParser(integer(1)),
    )
    .addOption(new Option('--fine-bins <N>', 'histogram bins over [0, 1]').argParser(integer(1)).default(100))
    .addOption(backendOption());
  deprecatedAlias(cmd, '--images <N>', '--num-images');
  return action<AnalyzeFlags>(cmd, analyze);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

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

async function analyze(flags: AnalyzeFlags): Promise<number> {
  const { setupBackend } = await import('../engine/backend.js');
  const { addDetectorBatch } = await import('../analysis/collectGradientStats.js');
  const { GradientStatsAccumulator } = await import('../analysis/gradientStats.js');
  const { writeGradientStats } = await import('../analysis/runFiles.js');
  const { DetectorBatches } = await import('../train/detectorBatches.js');
  const { loadData, loadRun } = await import('../train/detectorRun.js');

  const { run: runDir, numImages: images, fineBins } = flags;
  await setupBackend({ backend: flags.backend, log: (l) => console.error(l) });
  const loaded = await loadRun(runDir);
  try {
    const { config, model } = loaded;
    const data = await loadData(config.data, (l) => console.error(l));
    const available = data.train.images.length;
    const batchSize = Math.min(flags.batchSize ?? config.data.batch_size, images, available);
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
    return EXIT.ok;
  } finally {
    loaded.model.dispose();
  }
}

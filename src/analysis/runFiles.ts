/**
 * The files of a run folder that the analysis reads and writes. Layout:
 *
 * ```
 * RUN_DIR/
 *   config.json                          the run's resolved configuration (written by the trainer)
 *   log.jsonl                            one JSON record per line (written by the trainer, src/train/runLog.ts):
 *                                          training  {mode: 'train', iter, epoch, lr, loss, loss_cls, loss_bbox, ...,
 *                                                     grad_norm, images_per_s, time}
 *                                          evaluation {mode: 'val', iter, epoch, bbox_mAP, bbox_mAP_50, ...}
 *   eval.json                            the final evaluation on the whole validation split (the trainer):
 *                                          {iter, stats: number[12], statsNames: string[12]} (COCO's 12 stats)
 *   analysis/
 *     grad_stats_iter_000500.json        one GradientStats (gradientStats.ts) per sampled iteration; the
 *                                        iteration is zero-padded to 6 digits so names sort by iteration
 *                                        (`gradStatsFileName`); written atomically by `writeGradientStats`
 *   drawn/*.png                          validation images with their detections drawn (`ghmdet demo`)
 * ```
 *
 * Loss terms are the numeric `train` fields whose name starts with `loss`; evaluation metrics are the numeric
 * `val` fields other than `iter` and `epoch`. Readers are lenient where the trainer is (a torn last log line
 * is skipped) and strict about the statistics files (a malformed one is an error naming the file).
 */
import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import * as z from 'zod';
import { readdirIfPresent } from '../utils/files.js';
import { GRADIENT_STATS_VERSION, type GradientStats } from './gradientStats.js';

export const RUN_CONFIG_FILE = 'config.json';
export const RUN_LOG_FILE = 'log.jsonl';
export const RUN_EVAL_FILE = 'eval.json';
export const ANALYSIS_DIR = 'analysis';
export const DRAWN_DIR = 'drawn';
const DRAWN_IMAGE_PATTERN = /\.(png|jpe?g)$/i;

export { ABSENT_METRIC, isAbsentMetric } from './absentMetric.js';
const GRAD_STATS_PATTERN = /^grad_stats_iter_(\d+)\.json$/;

/** `grad_stats_iter_000500.json` for iteration 500 (zero-padded to 6 digits; longer numbers are kept whole). */
export function gradStatsFileName(iteration: number): string {
  if (!Number.isInteger(iteration) || iteration < 0) {
    throw new Error(`gradStatsFileName: iteration must be an integer >= 0, got ${iteration}`);
  }
  return `grad_stats_iter_${String(iteration).padStart(6, '0')}.json`;
}

/** One training record of `log.jsonl`: the fields the analysis uses. */
export interface TrainLogEntry {
  iter: number;
  lr: number | null;
  imagesPerSecond: number | null;
  /** Seconds since the training session started (the trainer's `time`; it restarts at 0 on resume). */
  time: number | null;
  /** Loss terms by name (`loss`, `loss_cls`, `loss_bbox`, ...). */
  losses: Record<string, number>;
}

/** One evaluation record of `log.jsonl`. */
export interface EvalLogEntry {
  iter: number;
  /** Metrics by name (`bbox_mAP`, `bbox_mAP_50`, ...). */
  metrics: Record<string, number>;
}

export interface RunLogData {
  train: TrainLogEntry[];
  val: EvalLogEntry[];
}

/** Everything the report needs about one run. */
export interface RunFolder {
  /** The folder as given. */
  dir: string;
  /** The folder's base name, used as the run's label. */
  name: string;
  /** `config.json`, or null when absent. */
  config: Record<string, unknown> | null;
  log: RunLogData;
  /** Gradient statistics files, sorted by iteration. */
  gradStats: GradientStats[];
  /** `eval.json`: the final COCO stats by name, or null when absent. */
  finalEval: EvalLogEntry | null;
  /** Paths of the images in `drawn/` (PNG or JPEG), sorted by name; empty when the folder is absent. */
  drawn: string[];
}

/** Parses `eval.json` ({iter, stats, statsNames}); `source` names the file in errors. */
export function parseFinalEval(value: unknown, source: string): EvalLogEntry {
  const r = z
    .object({ iter: z.number(), stats: z.array(z.number()), statsNames: z.array(z.string()) })
    .safeParse(value);
  if (!r.success || r.data.stats.length !== r.data.statsNames.length) {
    throw new Error(`${source}: expected {iter, stats: number[], statsNames: string[]} of equal lengths`);
  }
  const metrics: Record<string, number> = {};
  r.data.statsNames.forEach((n, i) => (metrics[n] = r.data.stats[i]!));
  return { iter: r.data.iter, metrics };
}

const num = z.number();
const histogram = z.object({
  bins: z.number().int().positive(),
  counts: z.array(num),
  sumNorm: z.array(num),
  sumBaselineNorm: z.array(num),
  sumGhmNorm: z.array(num),
  ghmWeight: z.array(num),
});
const regions = z.object({
  bins: z.number().int().positive(),
  counts: z.array(num),
  weights: z.array(num),
  nonEmpty: num,
  total: num,
});
const gradientStatsSchema = z.object({
  version: z.literal(GRADIENT_STATS_VERSION),
  iteration: num.nullable(),
  classification: z
    .object({
      numAnchors: num,
      numClasses: num,
      numValid: num,
      numPositive: num,
      numNegative: num,
      focalGamma: num,
      fine: histogram,
      positiveCounts: z.array(num),
      negativeCounts: z.array(num),
      ghmc: regions,
      positiveAnchors: num.optional(),
      positiveTop1: num.optional(),
    })
    .nullable(),
  regression: z
    .object({
      numPositives: num,
      numValid: num,
      mu: num,
      smoothL1Beta: num,
      fine: histogram,
      ghmr: regions,
      fit: z.object({ correlation: z.array(num), targetStd: z.array(num), predStd: z.array(num) }).optional(),
      coordinates: z
        .object({
          counts: z.array(z.array(num)),
          sumNorm: z.array(z.array(num)),
          sumBaselineNorm: z.array(z.array(num)),
        })
        .optional(),
    })
    .nullable(),
});

/** Validates a parsed statistics object; `source` names where it came from in the error. */
export function parseGradientStats(value: unknown, source: string): GradientStats {
  const r = gradientStatsSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(
      `${source}: not a GradientStats v${GRADIENT_STATS_VERSION} object: ${issue.path.join('.') || '(root)'}: ` +
        `${issue.message}; was it written by writeGradientStats?`,
    );
  }
  return r.data as GradientStats;
}

/** Writes `stats` to `RUN_DIR/analysis/grad_stats_iter_NNNNNN.json` (atomically); returns the path. */
export async function writeGradientStats(
  runDir: string,
  stats: GradientStats,
  iteration?: number,
): Promise<string> {
  const iter = iteration ?? stats.iteration;
  if (iter === null || iter === undefined) {
    throw new Error(
      'writeGradientStats: stats.iteration is null and no iteration was given; expected an integer',
    );
  }
  const dir = join(runDir, ANALYSIS_DIR);
  await fs.mkdir(dir, { recursive: true });
  const path = join(dir, gradStatsFileName(iter));
  const tmp = `${path}.tmp-${process.pid}`;
  await fs.writeFile(tmp, JSON.stringify({ ...stats, iteration: iter }) + '\n');
  await fs.rename(tmp, path);
  return path;
}

/** All statistics files of a run, sorted by iteration (none when `analysis/` is absent). */
export async function readGradientStats(runDir: string): Promise<GradientStats[]> {
  const dir = join(runDir, ANALYSIS_DIR);
  const names = await readdirIfPresent(dir);
  const files = names
    .map((n) => ({ n, m: GRAD_STATS_PATTERN.exec(n) }))
    .filter((f) => f.m !== null)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]));
  const out: GradientStats[] = [];
  for (const f of files) {
    const path = join(dir, f.n);
    let value: unknown;
    try {
      value = JSON.parse(await fs.readFile(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
    }
    out.push(parseGradientStats(value, path));
  }
  return out;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses `log.jsonl` text into training and evaluation entries (unparsable lines, e.g. a torn last one, are skipped). */
export function parseRunLog(text: string): RunLogData {
  const train: TrainLogEntry[] = [];
  const val: EvalLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (r === null || typeof r !== 'object' || !finite(r['iter'])) continue;
    const iter = r['iter'];
    if (r['mode'] === 'val') {
      const metrics: Record<string, number> = {};
      for (const [k, v] of Object.entries(r)) if (k !== 'iter' && k !== 'epoch' && finite(v)) metrics[k] = v;
      val.push({ iter, metrics });
    } else if (r['mode'] === 'train') {
      const losses: Record<string, number> = {};
      for (const [k, v] of Object.entries(r)) if (k.startsWith('loss') && finite(v)) losses[k] = v;
      train.push({
        iter,
        lr: finite(r['lr']) ? r['lr'] : null,
        imagesPerSecond: finite(r['images_per_s']) ? r['images_per_s'] : null,
        time: finite(r['time']) ? r['time'] : null,
        losses,
      });
    }
  }
  return { train, val };
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The drawn images of a run folder, sorted by name (none when `drawn/` is absent). */
async function readDrawnImages(runDir: string): Promise<string[]> {
  return (await readdirIfPresent(join(runDir, DRAWN_DIR)))
    .filter((n) => DRAWN_IMAGE_PATTERN.test(n))
    .sort()
    .map((n) => join(runDir, DRAWN_DIR, n));
}

/** Reads a run folder; a folder with none of the files is an error naming it. */
export async function readRunFolder(runDir: string): Promise<RunFolder> {
  const configText = await readOptional(join(runDir, RUN_CONFIG_FILE));
  const logText = await readOptional(join(runDir, RUN_LOG_FILE));
  const gradStats = await readGradientStats(runDir);
  const evalText = await readOptional(join(runDir, RUN_EVAL_FILE));
  if (configText === null && logText === null && gradStats.length === 0) {
    throw new Error(
      `${runDir}: not a run folder: expected ${RUN_CONFIG_FILE}, ${RUN_LOG_FILE} or ${ANALYSIS_DIR}/grad_stats_iter_*.json`,
    );
  }
  let config: Record<string, unknown> | null = null;
  if (configText !== null) {
    try {
      config = JSON.parse(configText) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${join(runDir, RUN_CONFIG_FILE)}: not valid JSON (${(err as Error).message})`);
    }
  }
  return {
    dir: runDir,
    name: basename(runDir.replace(/[\\/]+$/, '')) || runDir,
    config,
    log: parseRunLog(logText ?? ''),
    gradStats,
    finalEval:
      evalText === null
        ? null
        : parseFinalEval(parseJson(evalText, join(runDir, RUN_EVAL_FILE)), RUN_EVAL_FILE),
    drawn: await readDrawnImages(runDir),
  };
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

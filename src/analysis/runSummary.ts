/**
 * The headline of one run, as the report shows it first: the COCO numbers a reader looks for (AP, AP50, AP75,
 * then AP by object size), where they come from, how long training took, and the losses the run trained with.
 * Metrics the evaluation reports as absent (-1) are left out, never shown as a number.
 */
import { isAbsentMetric, type EvalLogEntry, type RunFolder, type TrainLogEntry } from './runFiles.js';

/** One headline metric: a short label and its value (in 0..1). */
export interface HeadlineMetric {
  label: string;
  value: number;
}

export interface RunSummary {
  /** AP, AP50, AP75 in this order, those present. */
  primary: HeadlineMetric[];
  /** AP small, medium, large, those present. */
  bySize: HeadlineMetric[];
  /** The evaluation the metrics come from: the final one (eval.json), else the last periodic one; null if none. */
  evaluation: { iter: number; final: boolean } | null;
  /** Wall-clock seconds of the logged training, summed over resumed sessions; null when the log has no times. */
  trainingSeconds: number | null;
  /** The last logged iteration; null when the log has no training record. */
  iterations: number | null;
  /** Mean training throughput over the logged records (images per second); null when none was logged. */
  imagesPerSecond: number | null;
  /** `loss_cls` / `loss_bbox` types found in the configuration (`{ loss_cls: 'GHMC', loss_bbox: 'GHMR' }`). */
  losses: Record<string, string>;
}

/**
 * The headline metrics under both naming schemes: COCO's summary names (eval.json, `STATS_NAMES`) and the
 * trainer's periodic evaluation records (mmdetection's `bbox_mAP*`).
 */
const PRIMARY: { label: string; names: string[] }[] = [
  { label: 'AP', names: ['AP@[.50:.95]|all|100', 'bbox_mAP'] },
  { label: 'AP50', names: ['AP@.50|all|100', 'bbox_mAP_50'] },
  { label: 'AP75', names: ['AP@.75|all|100', 'bbox_mAP_75'] },
];
const BY_SIZE: { label: string; names: string[] }[] = [
  { label: 'AP small', names: ['AP@[.50:.95]|small|100', 'bbox_mAP_s'] },
  { label: 'AP medium', names: ['AP@[.50:.95]|medium|100', 'bbox_mAP_m'] },
  { label: 'AP large', names: ['AP@[.50:.95]|large|100', 'bbox_mAP_l'] },
];

function pick(entry: EvalLogEntry, wanted: { label: string; names: string[] }[]): HeadlineMetric[] {
  return wanted.flatMap(({ label, names }) => {
    const value = names.map((n) => entry.metrics[n]).find((v) => v !== undefined);
    return value === undefined || isAbsentMetric(value) ? [] : [{ label, value }];
  });
}

/**
 * Training time from the records' `time` (seconds since the session started): a value lower than the one
 * before marks a resumed session, whose time adds to the sessions before it.
 */
export function trainingSeconds(train: TrainLogEntry[]): number | null {
  const times = train.map((e) => e.time).filter((t): t is number => t !== null);
  if (times.length === 0) return null;
  let total = 0;
  for (let i = 1; i < times.length; i++) if (times[i]! < times[i - 1]!) total += times[i - 1]!;
  return total + times[times.length - 1]!;
}

/** `loss_cls.type` and `loss_bbox.type` wherever they sit in the configuration (model.head or top level). */
function lossTypes(config: unknown, out: Record<string, string> = {}): Record<string, string> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return out;
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    const type = (v as { type?: unknown } | null)?.type;
    if ((k === 'loss_cls' || k === 'loss_bbox') && typeof type === 'string') out[k] ??= type;
    else lossTypes(v, out);
  }
  return out;
}

/** The headline of `run` (see {@link RunSummary}). */
export function summarizeRun(run: RunFolder): RunSummary {
  const lastVal = run.log.val[run.log.val.length - 1];
  const source = run.finalEval ?? lastVal ?? null;
  const speeds = run.log.train.map((e) => e.imagesPerSecond).filter((v): v is number => v !== null);
  return {
    primary: source === null ? [] : pick(source, PRIMARY),
    bySize: source === null ? [] : pick(source, BY_SIZE),
    evaluation: source === null ? null : { iter: source.iter, final: run.finalEval !== null },
    trainingSeconds: trainingSeconds(run.log.train),
    iterations: run.log.train[run.log.train.length - 1]?.iter ?? null,
    imagesPerSecond: speeds.length === 0 ? null : speeds.reduce((a, b) => a + b, 0) / speeds.length,
    losses: lossTypes(run.config),
  };
}

/**
 * Learning-rate schedule: mmdetection's `lr_config = dict(policy='step', warmup='linear', warmup_iters,
 * warmup_ratio, step)`, in iterations.
 *
 * Step policy: `lr(i) = base_lr * gamma^k`, with `k` the number of steps `s` in `step` such that `i >= s`
 * (`i` is the 0-based iteration being run; with mmdet's epoch steps [8, 11] the drop happens when
 * epoch index 8 starts, i.e. after 8 complete epochs, so callers convert with `s * batchesPerEpoch`).
 *
 * Linear warm-up over the first `warmupIters` iterations (mmdet v1/v2 `_get_warmup_lr`):
 *   `k = (1 - i / warmupIters) * (1 - warmupRatio)`, `lr = regular_lr * (1 - k)`,
 * so iteration 0 runs at `warmupRatio * base_lr` (1/3 by default) and iteration `warmupIters` at the full rate.
 */
export interface LrScheduleOptions {
  /** Base learning rate (mmdet `optimizer.lr`); must be > 0. */
  baseLr: number;
  /** Iterations at which the rate is multiplied by `gamma`, ascending. Default none. */
  steps?: readonly number[];
  /** Factor applied at each step. Default 0.1. */
  gamma?: number;
  /** Warm-up length in iterations; 0 switches warm-up off. Default 0. */
  warmupIters?: number;
  /** Rate at iteration 0 as a fraction of the scheduled rate. Default 1/3. */
  warmupRatio?: number;
}

/** A function from the 0-based iteration to the learning rate, after validating the options. */
export function lrSchedule(options: LrScheduleOptions): (iteration: number) => number {
  const { baseLr, steps = [], gamma = 0.1, warmupIters = 0, warmupRatio = 1 / 3 } = options;
  if (!(baseLr > 0) || !Number.isFinite(baseLr))
    throw new Error(`lrSchedule: baseLr must be a finite number > 0, got ${baseLr}`);
  if (!(gamma > 0)) throw new Error(`lrSchedule: gamma must be > 0, got ${gamma}`);
  if (!Number.isInteger(warmupIters) || warmupIters < 0)
    throw new Error(`lrSchedule: warmupIters must be an integer >= 0, got ${warmupIters}`);
  if (!(warmupRatio > 0 && warmupRatio <= 1))
    throw new Error(`lrSchedule: warmupRatio must be in (0, 1], got ${warmupRatio}`);
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (!Number.isInteger(s) || s < 0 || (i > 0 && s <= steps[i - 1]!))
      throw new Error(
        `lrSchedule: steps must be ascending integers >= 0, got [${steps.join(', ')}] (at index ${i})`,
      );
  }
  return (iteration: number): number => {
    let k = 0;
    for (const s of steps) if (iteration >= s) k++;
    const regular = baseLr * gamma ** k;
    if (iteration >= warmupIters) return regular;
    const fall = (1 - iteration / warmupIters) * (1 - warmupRatio);
    return regular * (1 - fall);
  };
}

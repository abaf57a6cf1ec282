/**
 * A training hook that records gradient statistics every K iterations: the trainer calls it after each
 * iteration with the completed iteration count; every `every`-th call it runs the detector on a batch
 * (BatchNorm in inference mode, no gradient), collects {@link GradientStats} with the training assigner's
 * targets and writes `RUN_DIR/analysis/grad_stats_iter_NNNNNN.json` (runFiles.ts), where `ghmdet report`
 * draws them, including the distribution of g over training.
 *
 * Usage from a training loop:
 * ```ts
 * const hook = gradientStatsHook({ model, runDir, every: 50, batch: () => fixedBatch });
 * ... after iteration `iter` completes:  await hook({ iter });
 * ```
 * A fixed batch (the same images every time) shows how the distribution moves with training alone.
 */
import {
  collectGradientStats,
  type DetectorForStats,
  type DetectorStatsBatch,
} from './collectGradientStats.js';
import type { GradientStatsOptions } from './gradientStats.js';
import { writeGradientStats } from './runFiles.js';

export interface GradientStatsHookOptions {
  model: DetectorForStats;
  runDir: string;
  /** Record at iterations that are multiples of this (>= 1). */
  every: number;
  /** The batch to analyse; called only when recording. The hook does not dispose it. */
  batch: () => DetectorStatsBatch | Promise<DetectorStatsBatch>;
  /** Statistics options (bins, mu, gamma, beta); `iteration` is set by the hook. */
  stats?: Omit<GradientStatsOptions, 'iteration'>;
}

/** Returns the hook: `({ iter }) => path written, or null when `iter` is not a multiple of `every`. */
export function gradientStatsHook(
  options: GradientStatsHookOptions,
): (context: { iter: number }) => Promise<string | null> {
  if (!Number.isInteger(options.every) || options.every < 1) {
    throw new Error(`gradientStatsHook: every must be an integer >= 1, got ${options.every}`);
  }
  return async ({ iter }) => {
    if (iter % options.every !== 0) return null;
    const batch = await options.batch();
    const stats = collectGradientStats(options.model, batch, { ...options.stats, iteration: iter });
    return writeGradientStats(options.runDir, stats);
  };
}

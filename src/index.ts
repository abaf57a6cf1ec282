/**
 * ghmdet: the Gradient Harmonized Single-stage Detector on TensorFlow.js.
 * The package root re-exports the public API of each part.
 */
export { setupBackend, currentBackend, BACKEND_ENV_VAR, KNOWN_BACKENDS } from './engine/backend.js';
export type { BackendOptions, BackendInfo, BackendName } from './engine/backend.js';
export { computeGradientStats, GRADIENT_STATS_VERSION } from './analysis/gradientStats.js';
export type {
  GradientStats,
  GradientStatsOptions,
  ClassificationGradientStats,
  RegressionGradientStats,
  NormHistogram,
  GhmRegions,
} from './analysis/gradientStats.js';
export { gradStatsFileName, writeGradientStats, readGradientStats, loadRun } from './analysis/runFiles.js';
export type { RunData, RunLogData } from './analysis/runFiles.js';
export { buildReport, writeReport } from './analysis/report.js';

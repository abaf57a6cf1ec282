/**
 * The loss library: GHM-C and GHM-R with their shared gradient-density module, the baselines they are compared
 * with (BCE, sigmoid focal, OHEM, smooth L1, L1, ASL1), the tf.layers adapter and the config factory.
 * All losses share the contract `(pred, target, weight?, { reduction, avgFactor, validate, ...hyper-parameters })`.
 */
export { GHMC, logitThresholds } from './ghmC.js';
export type { GHMCOptions, GHMCallOptions, GHMStats } from './ghmC.js';
export { GHMR, GHMR_LAST_EDGE } from './ghmR.js';
export type { GHMROptions } from './ghmR.js';
export {
  GradientDensity,
  binEdges,
  normThresholds,
  placeInBins,
  countBins,
  isRecordingGradients,
} from './gradientDensity.js';
export type { GradientDensityState, GradientDensityStats, BinThresholds } from './gradientDensity.js';
export { bceWithLogitsLoss, bceWithLogitsElementwise } from './bce.js';
export { sigmoidFocalLoss } from './focal.js';
export type { FocalOptions } from './focal.js';
export { ohemLoss, selectHardRows } from './ohem.js';
export type { OHEMOptions, OHEMSelection } from './ohem.js';
export { smoothL1Loss } from './smoothL1.js';
export type { SmoothL1Options } from './smoothL1.js';
export { l1Loss } from './l1.js';
export { asl1Loss, asl1Elementwise } from './asl1.js';
export type { ASL1Options } from './asl1.js';
export { weightReduce, stableSum, checkReduceOptions, REDUCTIONS } from './reduce.js';
export type { Reduction, ReduceOptions } from './reduce.js';
export { asLayersLoss } from './layersLoss.js';
export type { LossFunction, LayersLoss, LayersLossOptions } from './layersLoss.js';
export { buildLoss, parseLossConfig, lossConfigSchema } from './build.js';
export type {
  BuiltLoss,
  BuildLossOptions,
  LossConfigInput,
  LossConfigParsed,
  LossType,
  LossState,
} from './build.js';

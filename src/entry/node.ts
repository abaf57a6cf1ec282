/**
 * `ghmdet/node`: everything of `ghmdet/detector`, `ghmdet/losses` and `ghmdet/kernels`, plus what needs Node:
 * `setupBackend()` (the one-call set-up: picks tfjs-node, wasm or cpu and registers the training kernels),
 * model files on disk (`nodeFileHandler`, and `saveRetinaNet`/`loadRetinaNet` that also take local paths and
 * `file://` URLs), image files (sharp), COCO/VOC/shapes datasets on disk and the batch loader, the trainer with
 * its checkpoints, logs and progress display, worker-thread data parallelism, the training-run folders, the
 * analysis reports (SVG through Vega) and the experiment runner. The package root `ghmdet` re-exports this.
 *
 * Importing it changes no TF.js state either: `setupBackend()` imports `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm` when it runs.
 */
export * from './detector.js';
export * from './losses.js';
export * from './kernels.js';

// Node's versions of the model-file functions (local paths and file:// URLs too) replace the browser ones.
export { saveRetinaNet, loadRetinaNet, nodeModelSource } from '../detector/nodeModelIO.js';
export { nodeFileHandler } from '../detector/nodeFileHandler.js';
export { loadModelDir, readModelDirInfo } from '../detector/modelDir.js';
export type { LoadedModelDir, ModelDirInfo } from '../detector/modelDir.js';
export { initFromModelDir, formatInitReport } from '../detector/initFrom.js';
export type { InitReport, SkippedTensor } from '../detector/initFrom.js';
export { importTorchCheckpoint, TORCH_ARCHS } from '../interop/torchImport.js';
export type { TorchArch, TorchImportOptions, TorchImportReport } from '../interop/torchImport.js';
export { mmdetConfigText } from '../interop/mmdetConfig.js';
export type { MmdetExport, MmdetExportOptions } from '../interop/mmdetConfig.js';

export { setupBackend, currentBackend, BACKEND_ENV_VAR, KNOWN_BACKENDS } from '../engine/backend.js';
export type { BackendOptions, BackendInfo, BackendName } from '../engine/backend.js';
export { DataParallel, averageGradients } from '../engine/dataParallel/dataParallel.js';
export type { DataParallelOptions, StepResult } from '../engine/dataParallel/dataParallel.js';
export type { Replica, ReplicaModule, GradientResult } from '../engine/dataParallel/replica.js';

export {
  gradStatsFileName,
  writeGradientStats,
  readGradientStats,
  readRunFolder,
} from '../analysis/runFiles.js';
export type { RunFolder, RunLogData } from '../analysis/runFiles.js';
export { buildReport, writeReport } from '../analysis/report.js';
export { gradientStatsHook } from '../analysis/gradientStatsHook.js';
export type { GradientStatsHookOptions } from '../analysis/gradientStatsHook.js';
export { renderSvg } from '../analysis/renderSvg.js';
export { loadExperimentPlan, expandExperiment } from '../analysis/experimentPlan.js';
export type { ExperimentPlan, ExperimentRun } from '../analysis/experimentPlan.js';
export { runExperiment, writeExperimentResults } from '../analysis/experimentRunner.js';
export type { ExperimentResults } from '../analysis/experimentResults.js';

export { readCocoDataset, parseCocoGroundTruth, writeCocoDataset } from '../data/coco.js';
export type { ReadCocoOptions, CocoParseOptions } from '../data/coco.js';
export { readVocDataset, VOC_CLASSES } from '../data/voc.js';
export type { ReadVocOptions } from '../data/voc.js';
export { decodeImageFile, writePng } from '../data/image.js';
export { checkImageFiles } from '../data/imageCheck.js';
export type { ImageCheckOptions, ImageCheckResult, ImageProblem } from '../data/imageCheck.js';
export { assignImageIds } from '../data/imageIds.js';
export type { ImageIds, ImageIdEntry } from '../data/imageIds.js';
export { generateShapesDataset, ensureShapesDataset, shapesSplitPaths } from '../data/shapes.js';
export type { ShapesDatasetSummary, ShapesSplitSummary } from '../data/shapes.js';
export { DetectionLoader } from '../data/loader.js';
export type { LoaderOptions, LoaderState, DetectionBatch } from '../data/loader.js';

export {
  train,
  restoreWeights,
  checkpointedTensors,
  NonFiniteLossError,
  CONFIG_FILE,
  LOG_FILE,
} from '../train/trainer.js';
export type { TrainerOptions, TrainResult, EvalHook } from '../train/trainer.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  findResumableCheckpoint,
  readManifest,
  CheckpointDamagedError,
  MANIFEST_FILE,
} from '../train/checkpoint.js';
export type { CheckpointData, CheckpointManifest, SavedTensor } from '../train/checkpoint.js';
export { RunLog } from '../train/runLog.js';
export type { LogRecord, TrainRecord, EvalRecord } from '../train/runLog.js';
export { Progress } from '../train/progress.js';
export { DetectorBatches, trainingLoader } from '../train/detectorBatches.js';
export {
  trainDetector,
  loadRun,
  loadData,
  buildModel,
  runValidationInputs,
  exportRunModel,
} from '../train/detectorRun.js';
export type { TrainDetectorOptions, TrainDetectorResult, LoadedRun } from '../train/detectorRun.js';
export { evaluateDetector, detectImages, cocoEvalHook, loadDatasetImages } from '../train/cocoValidation.js';
export { drawDetections } from '../train/drawDetections.js';
export { parseConfig, loadConfigFile, iterationSchedule } from '../config.js';
export type { GhmdetConfig, DataConfig, TrainConfig, EvalConfig } from '../config.js';

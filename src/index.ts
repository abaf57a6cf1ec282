/**
 * ghmdet: the Gradient Harmonized Single-stage Detector on TensorFlow.js.
 * The package root re-exports the public API of each part.
 */
export { setupBackend, currentBackend, BACKEND_ENV_VAR, KNOWN_BACKENDS } from './engine/backend.js';
export type { BackendOptions, BackendInfo, BackendName } from './engine/backend.js';
export { registerTrainingKernels } from './engine/kernels/index.js';
export { batchNormTraining } from './engine/ops/batchNorm.js';
export type { BatchNormTrainingResult } from './engine/ops/batchNorm.js';
export { DataParallel, averageGradients } from './engine/dataParallel/dataParallel.js';
export type { DataParallelOptions, StepResult } from './engine/dataParallel/dataParallel.js';
export type { Replica, ReplicaModule, GradientResult } from './engine/dataParallel/replica.js';
export {
  computeGradientStats,
  GradientStatsAccumulator,
  GRADIENT_STATS_VERSION,
} from './analysis/gradientStats.js';
export type {
  GradientStats,
  GradientStatsOptions,
  ClassificationGradientStats,
  RegressionGradientStats,
  NormHistogram,
  GhmRegions,
} from './analysis/gradientStats.js';
export {
  gradStatsFileName,
  writeGradientStats,
  readGradientStats,
  readRunFolder,
} from './analysis/runFiles.js';
export type { RunFolder, RunLogData } from './analysis/runFiles.js';
export { buildReport, writeReport } from './analysis/report.js';
export { collectGradientStats, addDetectorBatch } from './analysis/collectGradientStats.js';
export type {
  DetectorForStats,
  DetectorStatsBatch,
  CollectOptions,
} from './analysis/collectGradientStats.js';
export { gradientStatsHook } from './analysis/gradientStatsHook.js';
export type { GradientStatsHookOptions } from './analysis/gradientStatsHook.js';
export {
  gradientDistributionFigure,
  reweightedNormFigure,
  cumulativeContributionFigure,
  distributionOverTrainingFigure,
  lossCurvesFigure,
  validationFigure,
  runComparisonFigure,
  runFigures,
} from './analysis/figures.js';
export type { Figure, GradientFamily } from './analysis/figures.js';
export { renderSvg } from './analysis/renderSvg.js';
export { loadExperimentPlan, expandExperiment } from './analysis/experimentPlan.js';
export type { ExperimentPlan, ExperimentRun } from './analysis/experimentPlan.js';
export { runExperiment, writeExperimentResults } from './analysis/experimentRunner.js';
export type { ExperimentResults } from './analysis/experimentResults.js';
export { RetinaNet } from './detector/retinaNet.js';
export type { RetinaNetOptions, Detection, DetectOptions, LossStates } from './detector/retinaNet.js';
export {
  parseRetinaNetConfig,
  retinaNetConfigSchema,
  SHAPES_CONFIG,
  COCO_R50_CONFIG,
  IMAGENET_MEAN_RGB,
  IMAGENET_STD_RGB,
  CLS_LOSS_TYPES,
  BBOX_LOSS_TYPES,
} from './detector/config.js';
export type { RetinaNetConfig, RetinaNetConfigInput, LossConfig } from './detector/config.js';
export { saveRetinaNet, loadRetinaNet, savedModelInfo, MODEL_FORMAT } from './detector/modelIO.js';
export type { ModelCategory, ModelMetadata, SavedModelInfo } from './detector/modelIO.js';
export { nodeFileHandler } from './detector/nodeFileHandler.js';
export { loadModelDir, readModelDirInfo } from './detector/modelDir.js';
export type { LoadedModelDir, ModelDirInfo } from './detector/modelDir.js';
export { initFromModelDir, formatInitReport } from './detector/initFrom.js';
export type { InitReport, SkippedTensor } from './detector/initFrom.js';
export { importTorchCheckpoint, TORCH_ARCHS } from './interop/torchImport.js';
export type { TorchArch, TorchImportOptions, TorchImportReport } from './interop/torchImport.js';
export { mmdetConfigText } from './interop/mmdetConfig.js';
export type { MmdetExport, MmdetExportOptions } from './interop/mmdetConfig.js';
export {
  generateAnchors,
  baseAnchorsXyxy,
  torchvisionBaseAnchorsXyxy,
  concatLevelAnchors,
} from './detector/anchors.js';
export type {
  AnchorGeneratorOptions,
  MmdetAnchorOptions,
  TorchvisionAnchorOptions,
  LevelAnchors,
} from './detector/anchors.js';
export {
  assignFromIou,
  assignAnchors,
  ASSIGNED_IGNORE,
  ASSIGNED_NEGATIVE,
} from './detector/maxIouAssigner.js';
export type { MaxIouAssignerOptions } from './detector/maxIouAssigner.js';
export { encodeBoxes, decodeBoxes, clipBoxesXyxy, MAX_LOG_RATIO } from './detector/boxCoder.js';
export type { BoxCoderOptions } from './detector/boxCoder.js';
export { iouMatrixXyxy, iofMatrixXyxy } from './detector/iou.js';
export { encodeImageTargets } from './detector/targets.js';
export type { ImageGroundTruth, ImageTargets } from './detector/targets.js';
export { prepareImage, resizedSize } from './detector/imageInput.js';
export type { RawImage, ImageMeta } from './detector/imageInput.js';
export { postprocessImage } from './detector/postprocess.js';
export type { Detections } from './detector/postprocess.js';
export type { HeadOutputs, LossResult } from './detector/retinaHead.js';
export type { DetectorLoss, LossBuilder } from './detector/lossContract.js';
export { evaluateCoco } from './eval/cocoEval.js';
export type { CocoEvalOptions, CocoEvalResult, CocoEvalAxes } from './eval/cocoEval.js';
export { formatSummary, STATS_NAMES } from './eval/cocoSummary.js';
export type { CocoCategoryResult } from './eval/cocoSummary.js';
export type {
  BoxXywh,
  CocoGroundTruth,
  CocoImage,
  CocoCategory,
  CocoAnnotation,
  CocoDetection,
} from './eval/cocoTypes.js';
export { evaluateVoc, vocAp } from './eval/vocEval.js';
export type {
  BoxXyxy,
  VocGroundTruthBox,
  VocDetection,
  VocEvalOptions,
  VocEvalResult,
  VocClassResult,
} from './eval/vocEval.js';
export * from './losses/index.js';
export { CategoryMap, toCocoGroundTruth } from './data/dataset.js';
export type {
  DetectionDataset,
  DatasetImage,
  DatasetAnnotation,
  DatasetCategory,
  CocoGroundTruthFile,
} from './data/dataset.js';
export { DataWarnings } from './data/warnings.js';
export type { WarningEntry } from './data/warnings.js';
export { readCocoDataset, parseCocoGroundTruth, writeCocoDataset } from './data/coco.js';
export type { ReadCocoOptions, CocoParseOptions } from './data/coco.js';
export { readVocDataset, VOC_CLASSES } from './data/voc.js';
export type { ReadVocOptions } from './data/voc.js';
export { decodeImageFile, writePng } from './data/image.js';
export type { RgbImage } from './data/image.js';
export { checkImageFiles } from './data/imageCheck.js';
export type { ImageCheckOptions, ImageCheckResult, ImageProblem } from './data/imageCheck.js';
export { assignImageIds } from './data/imageIds.js';
export type { ImageIds, ImageIdEntry } from './data/imageIds.js';
export {
  generateShapesDataset,
  ensureShapesDataset,
  shapesSplitPaths,
  resolveShapesOptions,
  renderShapesImage,
  DEFAULT_SHAPE_CLASSES,
  SHAPES_GENERATOR_VERSION,
} from './data/shapes.js';
export type { ShapesOptions, ShapesDatasetSummary, ShapesSplitSummary } from './data/shapes.js';
export { SHAPE_CLASSES } from './data/shapeGeometry.js';
export type { ShapeClass } from './data/shapeGeometry.js';
export { applyAnnotationNoise } from './data/annotationNoise.js';
export type { AnnotationNoiseOptions, NoiseCounts, NoiseRecord } from './data/annotationNoise.js';
export {
  IMAGENET_MEAN,
  IMAGENET_STD,
  keepRatioSize,
  resizeBilinear,
  scaleBoxesXyxy,
  flipImageHorizontal,
  flipBoxesXyxy,
  normalizeImage,
  padToDivisor,
  padInto,
  boxesToOriginal,
} from './data/transforms.js';
export { DetectionLoader, transformSample } from './data/loader.js';
export type { LoaderOptions, LoaderState, DetectionBatch, TransformedSample } from './data/loader.js';
export {
  train,
  restoreWeights,
  checkpointedTensors,
  NonFiniteLossError,
  CONFIG_FILE,
  LOG_FILE,
} from './train/trainer.js';
export type { TrainerOptions, TrainResult, EvalHook } from './train/trainer.js';
export type {
  Trainable,
  NamedVariable,
  LossOutput,
  BatchSource,
  SourcedBatch,
  JsonValue,
} from './train/trainable.js';
export { SgdMomentum } from './train/optimizer.js';
export type { SgdOptions, MomentumBuffer } from './train/optimizer.js';
export { lrSchedule } from './train/schedule.js';
export type { LrScheduleOptions } from './train/schedule.js';
export { globalNorm, clipCoefficient } from './train/gradClip.js';
export { localGradients } from './train/gradients.js';
export type { GradientFn, StepGradients } from './train/gradients.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  findResumableCheckpoint,
  readManifest,
  CheckpointDamagedError,
  MANIFEST_FILE,
} from './train/checkpoint.js';
export type { CheckpointData, CheckpointManifest, SavedTensor } from './train/checkpoint.js';
export { RunLog } from './train/runLog.js';
export type { LogRecord, TrainRecord, EvalRecord } from './train/runLog.js';
export { Progress } from './train/progress.js';
export { detectorTrainable } from './train/detectorTrainable.js';
export type { DetectorBatch } from './train/detectorTrainable.js';
export { DetectorBatches, trainingLoader } from './train/detectorBatches.js';
export { trainDetector, loadRun, loadData, buildModel, runValidationInputs } from './train/detectorRun.js';
export type { TrainDetectorOptions, TrainDetectorResult, LoadedRun } from './train/detectorRun.js';
export { evaluateDetector, detectImages, cocoEvalHook, loadDatasetImages } from './train/cocoValidation.js';
export { drawDetections } from './train/drawDetections.js';
export { parseConfig, loadConfigFile, iterationSchedule } from './config.js';
export type { GhmdetConfig, DataConfig, TrainConfig, EvalConfig } from './config.js';

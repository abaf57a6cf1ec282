/**
 * `ghmdet/detector`: the RetinaNet detector and what runs with it in any JavaScript environment, a page or a
 * Web Worker included: the model and `detect()` (tensors, `ImageData`, image/canvas/video elements), its config,
 * anchors, assigner, box coder and post-processing, the browser-safe training pieces (SGD with momentum, the
 * learning-rate schedule, gradient clipping, the detector's `Trainable`), the in-memory shapes generator and
 * sample transforms, gradient statistics and the specs of the paper's figures, COCO and VOC evaluation, and
 * the model files (a TF.js weights manifest + ghmdet config) through TF.js IO handlers and URLs.
 *
 * Imports `@tensorflow/tfjs-core` and zod only: no backend, no Node module, no image codec; importing it
 * registers nothing and changes no TF.js state. To train, the application imports `@tensorflow/tfjs` (op
 * gradients, cpu and webgl) and, for wasm, `@tensorflow/tfjs-backend-wasm` followed by
 * `registerTrainingKernels('wasm')` from `ghmdet/kernels`. Files, sharp, worker-thread data parallelism, the
 * trainer with checkpoints and the CLI's pieces are in `ghmdet/node`.
 */
export { RetinaNet, DETECT_DEFAULTS, ALL_DETECTIONS } from '../detector/retinaNet.js';
export type { RetinaNetOptions, Detection, DetectOptions, LossStates } from '../detector/retinaNet.js';
export {
  parseRetinaNetConfig,
  retinaNetConfigSchema,
  SHAPES_CONFIG,
  COCO_R50_CONFIG,
  IMAGENET_MEAN_RGB,
  IMAGENET_STD_RGB,
  CLS_LOSS_TYPES,
  BBOX_LOSS_TYPES,
} from '../detector/config.js';
export type { RetinaNetConfig, RetinaNetConfigInput, LossConfig } from '../detector/config.js';
export {
  saveRetinaNet,
  loadRetinaNet,
  modelHandler,
  savedModelInfo,
  MODEL_FORMAT,
  MODEL_FORMAT_NAME,
  MODEL_FORMAT_VERSION,
} from '../detector/modelIO.js';
export type {
  ModelSource,
  SaveModelOptions,
  ModelCategory,
  ModelMetadata,
  SavedModelInfo,
} from '../detector/modelIO.js';
export {
  generateAnchors,
  baseAnchorsXyxy,
  torchvisionBaseAnchorsXyxy,
  concatLevelAnchors,
} from '../detector/anchors.js';
export type {
  AnchorGeneratorOptions,
  MmdetAnchorOptions,
  TorchvisionAnchorOptions,
  LevelAnchors,
} from '../detector/anchors.js';
export {
  assignFromIou,
  assignAnchors,
  ASSIGNED_IGNORE,
  ASSIGNED_NEGATIVE,
} from '../detector/maxIouAssigner.js';
export type { MaxIouAssignerOptions } from '../detector/maxIouAssigner.js';
export { encodeBoxes, decodeBoxes, clipBoxesXyxy, MAX_LOG_RATIO } from '../detector/boxCoder.js';
export type { BoxCoderOptions } from '../detector/boxCoder.js';
export { iouMatrixXyxy, iofMatrixXyxy } from '../detector/iou.js';
export { encodeImageTargets } from '../detector/targets.js';
export type { ImageGroundTruth, ImageTargets } from '../detector/targets.js';
export { prepareImage, resizedSize } from '../detector/imageInput.js';
export type { RawImage, ImageMeta, ImageInput, BrowserImage } from '../detector/imageInput.js';
export { postprocessImage } from '../detector/postprocess.js';
export type { Detections } from '../detector/postprocess.js';
export type { HeadOutputs, LossResult } from '../detector/retinaHead.js';
export type { DetectorLoss, LossBuilder } from '../detector/lossContract.js';

export type {
  Trainable,
  NamedVariable,
  LossOutput,
  BatchSource,
  SourcedBatch,
  JsonValue,
} from '../train/trainable.js';
export { SgdMomentum } from '../train/optimizer.js';
export type { SgdOptions, MomentumBuffer } from '../train/optimizer.js';
export { lrSchedule } from '../train/schedule.js';
export type { LrScheduleOptions } from '../train/schedule.js';
export { globalNorm, clipCoefficient } from '../train/gradClip.js';
export { localGradients } from '../train/gradients.js';
export type { GradientFn, StepGradients } from '../train/gradients.js';
export { detectorTrainable } from '../train/detectorTrainable.js';
export type { DetectorBatch } from '../train/detectorTrainable.js';

export {
  DEFAULT_SHAPE_CLASSES,
  SHAPES_GENERATOR_VERSION,
  imageSeed,
  renderShapesImage,
  renderSplitImage,
  resolveShapesOptions,
} from '../data/shapesGenerator.js';
export type {
  ShapesOptions,
  ResolvedShapesOptions,
  ShapesImage,
  ShapeObject,
} from '../data/shapesGenerator.js';
export { SHAPE_CLASSES } from '../data/shapeGeometry.js';
export type { ShapeClass } from '../data/shapeGeometry.js';
export { applyAnnotationNoise } from '../data/annotationNoise.js';
export type { AnnotationNoiseOptions, NoiseCounts, NoiseRecord } from '../data/annotationNoise.js';
export { transformSample, collateSamples } from '../data/sample.js';
export type { RgbImage, TransformedSample, CollatedSamples, SampleTransformOptions } from '../data/sample.js';
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
} from '../data/transforms.js';
export { CategoryMap, toCocoGroundTruth } from '../data/dataset.js';
export type {
  DetectionDataset,
  DatasetImage,
  DatasetAnnotation,
  DatasetCategory,
  CocoGroundTruthFile,
} from '../data/dataset.js';
export { DataWarnings } from '../data/warnings.js';
export type { WarningEntry } from '../data/warnings.js';
export { Random } from '../utils/random.js';

export {
  computeGradientStats,
  GradientStatsAccumulator,
  GRADIENT_STATS_VERSION,
} from '../analysis/gradientStats.js';
export type {
  GradientStats,
  GradientStatsOptions,
  ClassificationGradientStats,
  RegressionGradientStats,
  NormHistogram,
  GhmRegions,
} from '../analysis/gradientStats.js';
export { collectGradientStats, addDetectorBatch } from '../analysis/collectGradientStats.js';
export type {
  DetectorForStats,
  DetectorStatsBatch,
  CollectOptions,
} from '../analysis/collectGradientStats.js';
export {
  gradientDistributionFigure,
  reweightedNormFigure,
  cumulativeContributionFigure,
  distributionOverTrainingFigure,
  lossCurvesFigure,
  validationFigure,
  runComparisonFigure,
  runFigures,
} from '../analysis/figures.js';
export type { Figure, GradientFamily } from '../analysis/figures.js';

export { evaluateCoco } from '../eval/cocoEval.js';
export type { CocoEvalOptions, CocoEvalResult, CocoEvalAxes } from '../eval/cocoEval.js';
export { formatSummary, STATS_NAMES } from '../eval/cocoSummary.js';
export type { CocoCategoryResult } from '../eval/cocoSummary.js';
export type {
  BoxXywh,
  CocoGroundTruth,
  CocoImage,
  CocoCategory,
  CocoAnnotation,
  CocoDetection,
} from '../eval/cocoTypes.js';
export { evaluateVoc, vocAp } from '../eval/vocEval.js';
export type {
  BoxXyxy,
  VocGroundTruthBox,
  VocDetection,
  VocEvalOptions,
  VocEvalResult,
  VocClassResult,
} from '../eval/vocEval.js';

/**
 * `RetinaNetConfig`: every option of the detector, validated with zod at the boundary (`parseRetinaNetConfig`).
 *
 * Vocabulary: mmdetection's names where it has them (`anchor_generator`, `assigner`, `bbox_coder`, `loss_cls`,
 * `loss_bbox`, `test_cfg`, `img_scale`, `size_divisor`), camelCase for the rest. Two presets:
 *  - {@link SHAPES_CONFIG} (the default): a 1.25 M-parameter net for ~128x128 synthetic images with objects of
 *    12-80 px: a small ResNet (stem 3x3/2 16 ch, four stride-2 stages 32/64/128/128 with one basic block each),
 *    FPN P3-P5 with 64 channels, two 64-channel head convs, anchors of 16-101 px (octave base scale 2).
 *  - {@link COCO_R50_CONFIG}: the reference RetinaNet-GHM R50-FPN 1x setup (bottleneck ResNet-50 widths, FPN P3-P7
 *    256 ch with P6/P7 from C5, four 256-ch head convs, anchors 32-813 px, 1333x800 inputs), for users with compute.
 * Head, assigner, coder, loss and test settings default to the reference GHM config (spec section 4).
 */
import * as z from 'zod';
import { lossConfigProblems } from '../losses/build.js';
import { issueLines } from '../utils/configIssues.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms.js';

/** ImageNet RGB mean and std in 0..255 pixel units (mmdetection `img_norm_cfg`), shared with the data pipeline. */
export { IMAGENET_MEAN as IMAGENET_MEAN_RGB, IMAGENET_STD as IMAGENET_STD_RGB } from '../data/transforms.js';

/** Classification losses understood by the loss factory. */
export const CLS_LOSS_TYPES = ['CrossEntropyLoss', 'OHEMLoss', 'FocalLoss', 'GHMC'] as const;
/** Regression losses understood by the loss factory. */
export const BBOX_LOSS_TYPES = ['SmoothL1Loss', 'L1Loss', 'ASL1Loss', 'GHMR'] as const;

const posInt = z.number().int().positive();
const triple = z.tuple([z.number(), z.number(), z.number()]);
const quad = z.tuple([z.number(), z.number(), z.number(), z.number()]);

const backboneSchema = z.strictObject({
  /** Only 'resnet' (built from scratch, no pretrained weights). */
  type: z.literal('resnet'),
  /** Channels of the stem conv. */
  stemChannels: posInt,
  /** Kernel of the stride-2 stem conv: 3 (small nets) or 7 (ResNet). */
  stemKernel: z.union([z.literal(3), z.literal(7)]),
  /** 3x3 stride-2 max-pool after the stem (ResNet); then stage 1 keeps the resolution. */
  stemPool: z.boolean(),
  /** Residual block: 'basic' (two 3x3) or 'bottleneck' (1x1, 3x3, 1x1 with expansion 4). */
  block: z.enum(['basic', 'bottleneck']),
  /**
   * Width of each stage, C2 first (bottleneck: the inner width, output is 4x); 1 to 4 stages (mmdetection's
   * `num_stages`): a net for small images may stop at C4 and feed an FPN of P3-P4 only.
   */
  widths: z.array(posInt).min(1).max(4),
  /** Residual blocks per stage, one entry per entry of `widths` (a 'conv' stage may have 0). */
  blocks: z.array(z.number().int().nonnegative()).min(1).max(4),
  /**
   * How a stage reduces resolution: 'conv' = a 3x3 stride-2 conv + BN + ReLU before its blocks (small nets);
   * 'block' = the first block is strided with a 1x1 projection shortcut (ResNet).
   */
  downsample: z.enum(['conv', 'block']),
  /** BatchNorm running-statistics momentum (PyTorch convention: new = (1 - m) * old + m * batch). */
  normMomentum: z.number().gt(0).lte(1),
  /** BatchNorm epsilon (torchvision's COCO RetinaNet weights run with 0). */
  normEps: z.number().nonnegative(),
  /**
   * Initialisation of the convolutions: 'kaiming' (normal, fan-out, ReLU gain: mmdetection's ResNet) or
   * 'pytorch' (PyTorch's `nn.Conv2d` default, U(-b, b) with b = 1 / sqrt(fan_in)). Behind BatchNorm the scale
   * does not change the forward pass, but it sets the effective step size: a weight's gradient scales with
   * 1 / |w|, its relative update with lr / |w|^2, so smaller weights learn faster.
   */
  init: z.enum(['kaiming', 'pytorch']),
  /**
   * mmdetection's `norm_eval`: BatchNorm always uses (and never updates) its running statistics, in training too.
   * Default false. Imported models set it: fine-tuning with small batches keeps the pretrained statistics.
   */
  norm_eval: z.boolean().optional(),
  /**
   * Whether BatchNorm's gamma and beta train (mmdetection's `norm_cfg.requires_grad`). Default true; false with
   * `norm_eval` is torchvision's `FrozenBatchNorm2d`.
   */
  normRequiresGrad: z.boolean().optional(),
  /**
   * mmdetection's `frozen_stages`: -1 (default) trains everything; 0 freezes the stem; s >= 1 freezes the stem and
   * stages 1..s (weights not trained, BatchNorm on running statistics).
   */
  frozen_stages: z.number().int().min(-1).max(4).optional(),
});

const neckSchema = z.strictObject({
  type: z.literal('FPN'),
  /** Channels of every pyramid output. */
  outChannels: posInt,
  /** First backbone stage used (0 = C2, 1 = C3, ...); the first output is P(startLevel + 2). */
  startLevel: z.number().int().min(0).max(3),
  /** Number of outputs; beyond the used backbone stages, extra stride-2 3x3 convs make P6, P7, ... */
  numOuts: posInt,
  /** Input of the first extra conv: 'on_input' = C5 (mmdetection v2 RetinaNet), 'on_output' = P5. */
  addExtraConvs: z.enum(['on_input', 'on_output']),
  /** ReLU before each extra conv after the first (torchvision style); mmdetection RetinaNet: false. */
  reluBeforeExtraConvs: z.boolean(),
  /**
   * Initialisation of the convolutions: 'xavier' (uniform, zero bias: mmdetection's FPN) or 'pytorch'
   * (PyTorch's `nn.Conv2d` default: kernel and bias U(-b, b), b = 1 / sqrt(fan_in)).
   */
  init: z.enum(['xavier', 'pytorch']),
});

/**
 * mmdetection v2's `AnchorGenerator` (the default; `type` may be left out): base size = stride, scales
 * `octave_base_scale * 2^(i / scales_per_octave)`, no rounding.
 */
const mmdetAnchorsSchema = z.strictObject({
  type: z.literal('AnchorGenerator').optional(),
  octave_base_scale: z.number().positive(),
  scales_per_octave: posInt,
  ratios: z.array(z.number().positive()).min(1),
  strides: z.array(posInt).min(1),
});

/**
 * torchvision's `AnchorGenerator`: absolute `sizes` per level (RetinaNet: (x, int(x 2^(1/3)), int(x 2^(2/3))) for
 * x = 32..512), base anchors rounded, strides taken from the padded input size (src/detector/anchors.ts).
 */
const torchvisionAnchorsSchema = z.strictObject({
  type: z.literal('torchvision'),
  sizes: z.array(z.array(z.number().positive()).min(1)).min(1),
  ratios: z.array(z.number().positive()).min(1),
  /** Nominal stride of each level (2^level), as for mmdetection's generator; the anchors use the input's own. */
  strides: z.array(posInt).min(1),
});

const lossClsSchema = z.looseObject({ type: z.enum(CLS_LOSS_TYPES), loss_weight: z.number().optional() });
const lossBboxSchema = z.looseObject({ type: z.enum(BBOX_LOSS_TYPES), loss_weight: z.number().optional() });

const headSchema = z.strictObject({
  /** 3x3 conv + ReLU layers in each branch before the output conv. */
  stackedConvs: z.number().int().nonnegative(),
  /** Channels of those convs. */
  featChannels: posInt,
  /** Prior probability of the classification bias: bias = -log((1 - p) / p). */
  priorProb: z.number().gt(0).lt(1),
  /**
   * Normalisation after each stacked conv: 'none' (the reference RetinaNet head) or 'BN': BatchNorm with its own
   * statistics and affine parameters per pyramid level while the conv weights stay shared (EfficientDet's head).
   * No config in configs/ uses it. Its momentum and epsilon are the backbone's.
   * 'GN': GroupNorm of `num_groups` groups (eps 1e-5) shared by the levels, torchvision's
   * `retinanet_resnet50_fpn_v2` head (`norm_layer=partial(nn.GroupNorm, 32)`).
   */
  norm: z.enum(['none', 'BN', 'GN']),
  /** Groups of `norm: 'GN'` (required there, as in mmdetection's `norm_cfg=dict(type='GN', num_groups=32)`). */
  num_groups: posInt.optional(),
  anchor_generator: z.union([mmdetAnchorsSchema, torchvisionAnchorsSchema]),
  assigner: z.strictObject({
    pos_iou_thr: z.number().min(0).max(1),
    neg_iou_thr: z.number().min(0).max(1),
    min_pos_iou: z.number().min(0).max(1),
    match_low_quality: z.boolean(),
    ignore_iof_thr: z.number(),
  }),
  bbox_coder: z.strictObject({
    /**
     * 'DeltaXYWHBBoxCoder' (default): mmdetection's, dw/dh clamped to +-log(1000 / 16). 'torchvision':
     * `det_utils.BoxCoder(weights)` with `target_stds` = 1 / weights, dw/dh clamped from above only.
     */
    type: z.enum(['DeltaXYWHBBoxCoder', 'torchvision']).optional(),
    target_means: quad,
    target_stds: quad,
  }),
  loss_cls: lossClsSchema,
  loss_bbox: lossBboxSchema,
  /**
   * 'level': the losses are called once per pyramid level on that level's anchors of the whole batch, with one
   * loss state shared by the levels (the reference implementation; the default, because GHM's bins and
   * momentum were tuned with it). 'batch': one call on all anchors of the batch (the paper's formulation).
   */
  loss_granularity: z.enum(['level', 'batch']),
});

const testCfgSchema = z.strictObject({
  /** Candidates kept per level after the score threshold, by score. */
  nms_pre: posInt,
  /** Score threshold on sigmoid scores. */
  score_thr: z.number().min(0).max(1),
  /** IoU threshold of the class-wise NMS. */
  nms_iou: z.number().min(0).max(1),
  /** Detections kept per image. */
  max_per_img: posInt,
});

const preprocessSchema = z.strictObject({
  /**
   * Whose resize rule: 'mmdet' (default), mmcv's `rescale_size` (sides rounded); 'torchvision',
   * `GeneralizedRCNNTransform` (scale = min(min_size / short side, max_size / long side) in float32, sides
   * floored), with `img_scale` = [max_size, min_size]. Both resize bilinearly with half-pixel centres.
   */
  type: z.enum(['mmdet', 'torchvision']).optional(),
  /** (long edge, short edge) bound of the resize, mmdetection `img_scale` with keep_ratio. */
  img_scale: z.tuple([posInt, posInt]),
  /** Keep the aspect ratio (true) or stretch to exactly (width = img_scale[0], height = img_scale[1]). */
  keep_ratio: z.boolean(),
  /** Pad bottom/right so height and width are multiples of this. */
  size_divisor: posInt,
  /** RGB mean and std in 0..255 units: x = (pixel - mean) / std. */
  mean: triple,
  std: triple,
  /**
   * mmdetection's `to_rgb` (default true): the network takes RGB. False: it takes BGR (Caffe-style weights), and
   * `mean`/`std` are in BGR order too.
   */
  to_rgb: z.boolean().optional(),
});

export const retinaNetConfigSchema = z.strictObject({
  /** Number of object classes, without background. */
  numClasses: posInt,
  /** Optional class names, `classNames[k]` for class index k; `detect()` reports `String(k)` without them. */
  classNames: z.array(z.string()).optional(),
  backbone: backboneSchema,
  neck: neckSchema,
  head: headSchema,
  test_cfg: testCfgSchema,
  preprocess: preprocessSchema,
});

export type RetinaNetConfig = z.infer<typeof retinaNetConfigSchema>;
export type BackboneConfig = RetinaNetConfig['backbone'];
export type NeckConfig = RetinaNetConfig['neck'];
export type HeadConfig = RetinaNetConfig['head'];
export type TestConfig = RetinaNetConfig['test_cfg'];
export type PreprocessConfig = RetinaNetConfig['preprocess'];
export type AnchorGeneratorConfig = HeadConfig['anchor_generator'];
export type BoxCoderConfig = HeadConfig['bbox_coder'];
/** A loss config in mmdetection's vocabulary, e.g. `{ type: 'GHMC', bins: 30, momentum: 0.75, loss_weight: 1 }`. */
export type LossConfig = { type: string; loss_weight?: number; [k: string]: unknown };

/** Reference GHM head/test settings shared by both presets (spec section 4). */
const REFERENCE_HEAD: Omit<HeadConfig, 'stackedConvs' | 'featChannels' | 'anchor_generator'> = {
  priorProb: 0.01,
  norm: 'none',
  assigner: {
    pos_iou_thr: 0.5,
    neg_iou_thr: 0.4,
    min_pos_iou: 0,
    match_low_quality: true,
    ignore_iof_thr: -1,
  },
  bbox_coder: { target_means: [0, 0, 0, 0], target_stds: [1, 1, 1, 1] },
  loss_cls: { type: 'GHMC', bins: 30, momentum: 0.75, use_sigmoid: true, loss_weight: 1.0 },
  loss_bbox: { type: 'GHMR', mu: 0.02, bins: 10, momentum: 0.7, loss_weight: 10.0 },
  loss_granularity: 'level',
};
const REFERENCE_TEST: TestConfig = { nms_pre: 1000, score_thr: 0.05, nms_iou: 0.5, max_per_img: 100 };

/**
 * Small detector for ~128x128 synthetic shape images (objects 12-80 px, 4 classes as the shapes generator); the
 * default. Its backbone and FPN start from PyTorch's `nn.Conv2d` initialisation: trained from scratch on the
 * shapes data it gave 17.1 AP (CE) and 14.4 AP (GHM-C) on the experiment suite where mmdetection's Kaiming /
 * Xavier initialisation gave 15.0 and 9.6 (seed 0, docs/results.md).
 */
export const SHAPES_CONFIG: RetinaNetConfig = {
  numClasses: 4,
  backbone: {
    type: 'resnet',
    stemChannels: 16,
    stemKernel: 3,
    stemPool: false,
    block: 'basic',
    widths: [32, 64, 128, 128],
    blocks: [1, 1, 1, 1],
    downsample: 'conv',
    normMomentum: 0.1,
    normEps: 1e-5,
    init: 'pytorch',
  },
  neck: {
    type: 'FPN',
    outChannels: 64,
    startLevel: 1,
    numOuts: 3,
    addExtraConvs: 'on_input',
    reluBeforeExtraConvs: false,
    init: 'pytorch',
  },
  head: {
    ...REFERENCE_HEAD,
    stackedConvs: 2,
    featChannels: 64,
    anchor_generator: {
      octave_base_scale: 2,
      scales_per_octave: 3,
      ratios: [0.5, 1, 2],
      strides: [8, 16, 32],
    },
  },
  test_cfg: REFERENCE_TEST,
  preprocess: {
    img_scale: [128, 128],
    keep_ratio: true,
    size_divisor: 32,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
  },
};

/** RetinaNet-GHM R50-FPN 1x (COCO, 80 classes), trained from scratch here (no pretrained weights). */
export const COCO_R50_CONFIG: RetinaNetConfig = {
  numClasses: 80,
  backbone: {
    type: 'resnet',
    stemChannels: 64,
    stemKernel: 7,
    stemPool: true,
    block: 'bottleneck',
    widths: [64, 128, 256, 512],
    blocks: [3, 4, 6, 3],
    downsample: 'block',
    normMomentum: 0.1,
    normEps: 1e-5,
    init: 'kaiming',
  },
  neck: {
    type: 'FPN',
    outChannels: 256,
    startLevel: 1,
    numOuts: 5,
    addExtraConvs: 'on_input',
    reluBeforeExtraConvs: false,
    init: 'xavier',
  },
  head: {
    ...REFERENCE_HEAD,
    stackedConvs: 4,
    featChannels: 256,
    anchor_generator: {
      octave_base_scale: 4,
      scales_per_octave: 3,
      ratios: [0.5, 1, 2],
      strides: [8, 16, 32, 64, 128],
    },
  },
  test_cfg: REFERENCE_TEST,
  preprocess: {
    img_scale: [1333, 800],
    keep_ratio: true,
    size_divisor: 32,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
  },
};

/** A partial config: any nested field may be left out and is then taken from the base preset. */
export type RetinaNetConfigInput = DeepPartial<RetinaNetConfig>;
type DeepPartial<T> = T extends unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Why a backbone's stage lists disagree, or undefined when `blocks` has one entry per entry of `widths`. */
export function backboneStagesError(b: Pick<BackboneConfig, 'widths' | 'blocks'>): string | undefined {
  if (b.blocks.length === b.widths.length) return undefined;
  return (
    `backbone.blocks has ${b.blocks.length} entries, expected one per stage of backbone.widths ` +
    `(${b.widths.length})`
  );
}

/**
 * Validates a (partial) config merged over `base` (default {@link SHAPES_CONFIG}); arrays and loss configs
 * replace the base's rather than merging, and a new `numClasses` without `classNames` drops the base's names.
 * Every section is strict: an unknown key is an error, with a
 * suggestion when a known key is close. The loss configs are checked by the loss factory's schema here, so a bad
 * loss parameter is found before a model is built. Throws with every invalid path listed.
 */
export function parseRetinaNetConfig(
  input: unknown = {},
  base: RetinaNetConfig = SHAPES_CONFIG,
): RetinaNetConfig {
  const r = retinaNetConfigProblems(input, base);
  if (r.config === undefined) throw new Error(`invalid RetinaNet config: ${r.problems.join('; ')}`);
  return r.config;
}

/**
 * The problems of a (partial) config merged over `base`, one line each starting with the field's path relative
 * to the model config (`head.stacked_convs: unknown key; did you mean \`stackedConvs\`?`), after `prefix`; or
 * the validated config when there are none. {@link parseRetinaNetConfig} throws them; the config file parser
 * lists them under `model.`.
 */
export function retinaNetConfigProblems(
  input: unknown,
  base: RetinaNetConfig,
  prefix = '',
): { config?: RetinaNetConfig; problems: string[] } {
  const merged = deepMerge(baseFor(input, base), input);
  const at = (...path: string[]) => [...(prefix === '' ? [] : [prefix]), ...path];
  const r = retinaNetConfigSchema.safeParse(merged, { reportInput: true });
  // The loss configs are checked whatever else is wrong, so one run lists every problem.
  const head = isPlainObject(merged) && isPlainObject(merged['head']) ? merged['head'] : {};
  const lossProblems = ['loss_cls', 'loss_bbox'].flatMap((k) =>
    isPlainObject(head[k]) ? lossConfigProblems(head[k], at('head', k)) : [],
  );
  if (!r.success) {
    const lines = issueLines(retinaNetConfigSchema, r.error.issues, at());
    const paths = new Set(lines.map((l) => l.slice(0, l.indexOf(': '))));
    return { problems: [...lines, ...lossProblems.filter((l) => !paths.has(l.slice(0, l.indexOf(': '))))] };
  }
  const cfg = r.data;
  const problems = [
    ...lossProblems,
    ...semanticProblems(cfg).map((p) => (prefix === '' ? p : `${prefix}.${p}`)),
  ];
  return problems.length > 0 ? { problems } : { config: cfg, problems };
}

/** What the schema cannot say: fields that must agree with each other. Each line starts with a path. */
function semanticProblems(cfg: RetinaNetConfig): string[] {
  const stagesError = backboneStagesError(cfg.backbone);
  if (stagesError !== undefined) return [stagesError];
  const out: string[] = [];
  if (cfg.neck.startLevel >= cfg.backbone.widths.length) {
    out.push(
      `neck.startLevel = ${cfg.neck.startLevel}, expected less than the ` +
        `${cfg.backbone.widths.length} backbone stages (backbone.widths)`,
    );
  }
  if (cfg.head.anchor_generator.strides.length !== cfg.neck.numOuts) {
    out.push(
      `head.anchor_generator.strides has ${cfg.head.anchor_generator.strides.length} ` +
        `entries, expected neck.numOuts = ${cfg.neck.numOuts} (one stride per pyramid level)`,
    );
  } else {
    cfg.head.anchor_generator.strides.forEach((s, i) => {
      const expected = 2 ** (cfg.neck.startLevel + 2 + i);
      if (s !== expected) {
        out.push(
          `head.anchor_generator.strides[${i}] = ${s}, expected ${expected} ` +
            `(level P${cfg.neck.startLevel + 2 + i} of an FPN with startLevel ${cfg.neck.startLevel})`,
        );
      }
    });
  }
  if (cfg.head.norm === 'GN') {
    const g = cfg.head.num_groups;
    if (g === undefined || cfg.head.featChannels % g !== 0)
      out.push(
        `head.norm 'GN' needs head.num_groups dividing head.featChannels ${cfg.head.featChannels}, got ` +
          `${g ?? 'none'} (torchvision's v2 head: 32 groups of 256 channels)`,
      );
  }
  const ag = cfg.head.anchor_generator;
  if (ag.type === 'torchvision' && ag.sizes.length !== ag.strides.length)
    out.push(
      `head.anchor_generator.sizes has ${ag.sizes.length} levels, expected one per stride (${ag.strides.length})`,
    );
  else if (ag.type === 'torchvision' && ag.sizes.some((l) => l.length !== ag.sizes[0]!.length))
    out.push(
      'head.anchor_generator.sizes must give every level the same number of sizes (the head predicts the same ' +
        'anchors per location on every level)',
    );
  if (cfg.preprocess.type === 'torchvision' && !cfg.preprocess.keep_ratio)
    out.push(
      "preprocess.keep_ratio false: preprocess.type 'torchvision' resizes with keep_ratio " +
        '(GeneralizedRCNNTransform has no stretch mode)',
    );
  if (cfg.head.assigner.neg_iou_thr > cfg.head.assigner.pos_iou_thr) {
    out.push(
      `head.assigner.neg_iou_thr ${cfg.head.assigner.neg_iou_thr} exceeds ` +
        `pos_iou_thr ${cfg.head.assigner.pos_iou_thr}`,
    );
  }
  if (cfg.classNames !== undefined && cfg.classNames.length !== cfg.numClasses) {
    out.push(`classNames has ${cfg.classNames.length} names, expected numClasses = ${cfg.numClasses}`);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The base's class names do not carry over to a config that changes `numClasses` without naming its own. */
function baseFor(input: unknown, base: RetinaNetConfig): RetinaNetConfig {
  if (!isPlainObject(input) || base.classNames === undefined || input['classNames'] !== undefined)
    return base;
  if (input['numClasses'] === undefined || input['numClasses'] === base.numClasses) return base;
  const { classNames: _dropped, ...rest } = base;
  return rest;
}

function anchorType(v: unknown): unknown {
  return isPlainObject(v) ? (v['type'] ?? 'AnchorGenerator') : undefined;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return structuredClone(base);
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    // A loss config names a different loss with different fields: replace it whole; so does an anchor
    // generator of another type (mmdetection's octave scales or torchvision's sizes).
    const replace =
      k === 'loss_cls' ||
      k === 'loss_bbox' ||
      (k === 'anchor_generator' && anchorType(v) !== anchorType(base[k]));
    out[k] = replace ? structuredClone(v) : deepMerge(base[k], v);
  }
  return out;
}

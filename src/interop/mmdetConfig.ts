/**
 * A ghmdet config as an mmdetection v2 config (Python), for moving an experiment to a GPU cluster
 * (`ghmdet export-config --to mmdet CONFIG`): the same RetinaNet (ResNet depth from the stage layout, FPN, head,
 * anchors, box coder, assigner, GHM or other losses with their parameters, test settings), the same data
 * (dataset type, annotation files and image folders, resize, flip, normalisation, padding), and the same schedule
 * (SGD, gradient clipping, warm-up and steps, epochs or iterations, evaluation, checkpoints, logging).
 *
 * What mmdetection cannot express is refused with the reason (a ResNet whose stage widths do not double from a
 * base, ghmdet's small-net `downsample: 'conv'` stages, per-level BatchNorm in the head, torchvision's anchor
 * generator, OHEMLoss / ASL1Loss); what it computes differently is written and listed in `notes` (and as comments
 * at the top of the file): PyTorch-default initialisation, `loss_granularity: 'batch'`, `init_from`.
 *
 * `data.batch_size` is the whole batch: `samples_per_gpu` = batch_size / `gpus`, so `tools/dist_train.sh CONFIG
 * GPUS` trains with ghmdet's batch and learning rate.
 */
import type { DataConfig, GhmdetConfig, ModelSection } from '../config.js';
import { DEFAULT_SHAPE_CLASSES } from '../data/shapes.js';
import { pyName, pythonLiteral, tuple } from './pythonLiteral.js';

export interface MmdetExportOptions {
  /** GPUs the config is written for: samples_per_gpu = data.batch_size / gpus. Default 1. */
  gpus?: number;
  /** The ghmdet config file's name, for the header comment. */
  source?: string;
}

export interface MmdetExport {
  /** The Python config file. */
  text: string;
  /** Differences mmdetection will compute (also in the file's header). */
  notes: string[];
}

/** ResNet depth of each (block, blocks per stage) layout mmdetection's `ResNet` builds. */
const RESNET_DEPTHS: Record<string, number> = {
  'basic:2,2,2,2': 18,
  'basic:3,4,6,3': 34,
  'bottleneck:3,4,6,3': 50,
  'bottleneck:3,4,23,3': 101,
  'bottleneck:3,8,36,3': 152,
};

const MMDET_LOSSES = new Set(['CrossEntropyLoss', 'FocalLoss', 'GHMC', 'SmoothL1Loss', 'L1Loss', 'GHMR']);

const VOC_CLASSES = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
]; // prettier-ignore

function refuse(what: string): never {
  throw new Error(`mmdetection config: ${what}`);
}

/** mmdetection's `model = dict(type='RetinaNet', ...)` for a ghmdet model section, and the notes. */
export function mmdetModel(m: ModelSection): { model: Record<string, unknown>; notes: string[] } {
  const notes: string[] = [];
  const b = m.backbone;
  const depth = RESNET_DEPTHS[`${b.block}:${b.blocks.join(',')}`];
  const base = b.widths[0]!;
  if (
    depth === undefined ||
    b.widths.length !== 4 ||
    b.downsample !== 'block' ||
    b.stemKernel !== 7 ||
    !b.stemPool ||
    b.widths.some((w, i) => w !== base * 2 ** i)
  )
    refuse(
      `the backbone (${b.block} blocks [${b.blocks}], widths [${b.widths}], downsample '${b.downsample}', ` +
        `stem ${b.stemKernel}x${b.stemKernel}${b.stemPool ? ' + max-pool' : ''}) is not one of mmdetection's ` +
        'ResNets: depth 18/34 (basic [2,2,2,2] / [3,4,6,3]) or 50/101/152 (bottleneck [3,4,6,3] / [3,4,23,3] / ' +
        "[3,8,36,3]), widths doubling from a base, a 7x7 stem with max-pool, downsample 'block' (the coco_r50 preset)",
    );
  if (b.init === 'pytorch' || m.neck.init === 'pytorch')
    notes.push(
      "backbone.init / neck.init 'pytorch' (PyTorch's nn.Conv2d default): mmdetection initialises its ResNet with " +
        "Kaiming and its FPN with Xavier (ghmdet's 'kaiming' / 'xavier'); with an ImageNet backbone only the FPN's " +
        'initialisation is left to differ.',
    );
  const normCfg: Record<string, unknown> = { type: 'BN', requires_grad: b.normRequiresGrad ?? true };
  if (b.normEps !== 1e-5) normCfg['eps'] = b.normEps;
  if (b.normMomentum !== 0.1) normCfg['momentum'] = b.normMomentum;
  const backbone: Record<string, unknown> = {
    type: 'ResNet',
    depth,
    num_stages: 4,
    out_indices: tuple(0, 1, 2, 3),
    frozen_stages: b.frozen_stages ?? -1,
    norm_cfg: normCfg,
    norm_eval: b.norm_eval ?? false,
    style: 'pytorch',
  };
  if (b.stemChannels !== 64) backbone['stem_channels'] = b.stemChannels;
  if (base !== 64) backbone['base_channels'] = base;

  const expansion = b.block === 'bottleneck' ? 4 : 1;
  const neck = {
    type: 'FPN',
    in_channels: b.widths.map((w) => w * expansion),
    out_channels: m.neck.outChannels,
    start_level: m.neck.startLevel,
    add_extra_convs: m.neck.addExtraConvs,
    relu_before_extra_convs: m.neck.reluBeforeExtraConvs,
    num_outs: m.neck.numOuts,
  };

  const h = m.head;
  const ag = h.anchor_generator;
  if (ag.type === 'torchvision')
    refuse(
      "head.anchor_generator type 'torchvision' has no mmdetection equivalent (use mmdetection's octave scales)",
    );
  if (h.bbox_coder.type === 'torchvision')
    refuse(
      "head.bbox_coder type 'torchvision' has no mmdetection equivalent (DeltaXYWHBBoxCoder clamps both ways)",
    );
  if (h.norm === 'BN')
    refuse("head.norm 'BN' (a BatchNorm per pyramid level) has no mmdetection RetinaHead equivalent");
  for (const [which, loss] of [
    ['loss_cls', h.loss_cls],
    ['loss_bbox', h.loss_bbox],
  ] as const)
    if (!MMDET_LOSSES.has(loss.type))
      refuse(
        `head.${which} type ${loss.type} is not an mmdetection v2 loss (${[...MMDET_LOSSES].join(', ')})`,
      );
  if (h.loss_granularity === 'batch')
    notes.push(
      "ghmdet's loss_granularity 'batch' (one loss call on all anchors) has no mmdetection equivalent: " +
        "mmdetection's AnchorHead calls the losses per pyramid level ('level'); GHM's densities will differ.",
    );
  const bboxHead: Record<string, unknown> = {
    type: 'RetinaHead',
    num_classes: m.numClasses,
    in_channels: m.neck.outChannels,
    stacked_convs: h.stackedConvs,
    feat_channels: h.featChannels,
    anchor_generator: {
      type: 'AnchorGenerator',
      octave_base_scale: ag.octave_base_scale,
      scales_per_octave: ag.scales_per_octave,
      ratios: ag.ratios,
      strides: ag.strides,
    },
    bbox_coder: {
      type: 'DeltaXYWHBBoxCoder',
      target_means: h.bbox_coder.target_means,
      target_stds: h.bbox_coder.target_stds,
    },
    loss_cls: h.loss_cls,
    loss_bbox: h.loss_bbox,
  };
  if (h.norm === 'GN') bboxHead['norm_cfg'] = { type: 'GN', num_groups: h.num_groups, requires_grad: true };
  if (h.priorProb !== 0.01)
    notes.push(`head.priorProb ${h.priorProb}: mmdetection's RetinaHead initialises the class bias for 0.01`);
  const model = {
    type: 'RetinaNet',
    backbone,
    neck,
    bbox_head: bboxHead,
    train_cfg: {
      assigner: { type: 'MaxIoUAssigner', ...h.assigner },
      allowed_border: -1,
      pos_weight: -1,
      debug: false,
    },
    test_cfg: {
      nms_pre: m.test_cfg.nms_pre,
      min_bbox_size: 0,
      score_thr: m.test_cfg.score_thr,
      nms: { type: 'nms', iou_threshold: m.test_cfg.nms_iou },
      max_per_img: m.test_cfg.max_per_img,
    },
  };
  if (m.init_from !== undefined)
    notes.push(
      `model.init_from ${m.init_from} is a ghmdet model directory; in mmdetection start from the PyTorch checkpoint ` +
        "it was imported from (load_from = 'CHECKPOINT.pth', or backbone init_cfg for an ImageNet backbone).",
    );
  return { model, notes };
}

/** Dataset type, class names (when not the dataset's defaults) and the train/val splits' files. */
function mmdetDatasets(
  data: DataConfig,
  m: ModelSection,
): { type: string; classes: string[] | undefined; splits: Record<'train' | 'val', Record<string, string>> } {
  const root = data.root.replace(/\/+$/, '');
  if (data.type === 'shapes') {
    const classes = ((data.shapes['classes'] as string[] | undefined) ?? DEFAULT_SHAPE_CLASSES).slice();
    const split = (s: string) => ({
      ann_file: `${root}/annotations/instances_${s}.json`,
      img_prefix: `${root}/${s}/`,
    });
    return { type: 'CocoDataset', classes, splits: { train: split('train'), val: split('val') } };
  }
  if (data.type === 'coco') {
    const split = (s: NonNullable<DataConfig['train']>) => ({
      ann_file: `${root}/${s.ann_file}`,
      img_prefix: `${root}/${s.img_prefix ?? ''}${s.img_prefix ? '/' : ''}`,
    });
    return {
      type: 'CocoDataset',
      classes: m.classNames,
      splits: { train: split(data.train!), val: split(data.val!) },
    };
  }
  const split = (s: NonNullable<DataConfig['train']>) => ({
    ann_file: `${root}/ImageSets/Main/${s.ann_file}.txt`,
    img_prefix: `${root}/`,
  });
  const classes =
    m.classNames ??
    (m.numClasses === VOC_CLASSES.length
      ? undefined
      : refuse('VOC with numClasses other than 20 needs model.classNames'));
  return { type: 'VOCDataset', classes, splits: { train: split(data.train!), val: split(data.val!) } };
}

/** The whole mmdetection v2 config file for `config`. */
export function mmdetConfigText(config: GhmdetConfig, options: MmdetExportOptions = {}): MmdetExport {
  const gpus = options.gpus ?? 1;
  if (!Number.isInteger(gpus) || gpus < 1) refuse(`gpus must be a positive integer, got ${gpus}`);
  if (config.data.batch_size % gpus !== 0)
    refuse(`data.batch_size ${config.data.batch_size} does not split over ${gpus} GPUs (samples_per_gpu)`);
  const { model, notes } = mmdetModel(config.model);
  const m = config.model;
  const p = m.preprocess;
  if (!p.keep_ratio)
    refuse('preprocess.keep_ratio false: ghmdet trains with keep_ratio (the data loader has no stretch)');
  if (p.type === 'torchvision')
    notes.push(
      "preprocess.type 'torchvision' (GeneralizedRCNNTransform's resize rule) is written as mmdetection's Resize",
    );
  const ds = mmdetDatasets(config.data, m);
  const t = config.train;
  const byEpoch = t.total_epochs !== undefined;
  const length = byEpoch ? t.total_epochs! : t.max_iters!;
  const imgScale = tuple(p.img_scale[0], p.img_scale[1]);
  const dataset = (split: 'train' | 'val', pipeline: string) => ({
    type: pyName('dataset_type'),
    ...(ds.classes !== undefined ? { classes: tuple(...ds.classes) } : {}),
    ...ds.splits[split],
    pipeline: pyName(pipeline),
  });
  const optimizer: Record<string, unknown> = {
    type: 'SGD',
    lr: t.optimizer.lr,
    momentum: t.optimizer.momentum,
    weight_decay: t.optimizer.weight_decay,
  };
  if (!t.optimizer.decay_norm_and_bias)
    optimizer['paramwise_cfg'] = { norm_decay_mult: 0, bias_decay_mult: 0 };
  const lr = t.lr_config;
  const evalInterval = config.eval.interval;
  const assignments: [string, unknown][] = [
    ['model', model],
    ['dataset_type', ds.type],
    ['img_norm_cfg', { mean: p.mean, std: p.std, to_rgb: p.to_rgb ?? true }],
    [
      'train_pipeline',
      [
        { type: 'LoadImageFromFile' },
        { type: 'LoadAnnotations', with_bbox: true },
        { type: 'Resize', img_scale: imgScale, keep_ratio: true },
        { type: 'RandomFlip', flip_ratio: config.data.flip_ratio },
        { type: 'Normalize', mean: p.mean, std: p.std, to_rgb: p.to_rgb ?? true },
        { type: 'Pad', size_divisor: p.size_divisor },
        { type: 'DefaultFormatBundle' },
        { type: 'Collect', keys: ['img', 'gt_bboxes', 'gt_labels'] },
      ],
    ],
    [
      'test_pipeline',
      [
        { type: 'LoadImageFromFile' },
        {
          type: 'MultiScaleFlipAug',
          img_scale: imgScale,
          flip: false,
          transforms: [
            { type: 'Resize', keep_ratio: true },
            { type: 'RandomFlip' },
            { type: 'Normalize', mean: p.mean, std: p.std, to_rgb: p.to_rgb ?? true },
            { type: 'Pad', size_divisor: p.size_divisor },
            { type: 'ImageToTensor', keys: ['img'] },
            { type: 'Collect', keys: ['img'] },
          ],
        },
      ],
    ],
    [
      'data',
      {
        samples_per_gpu: config.data.batch_size / gpus,
        workers_per_gpu: 2,
        train: dataset('train', 'train_pipeline'),
        val: dataset('val', 'test_pipeline'),
        test: dataset('val', 'test_pipeline'),
      },
    ],
    [
      'evaluation',
      evalInterval > 0
        ? { interval: evalInterval, by_epoch: false, metric: 'bbox' }
        : { interval: length, metric: 'bbox' },
    ],
    ['optimizer', optimizer],
    ['optimizer_config', { grad_clip: t.grad_clip === null ? null : { ...t.grad_clip } }],
    [
      'lr_config',
      {
        policy: 'step',
        warmup: lr.warmup,
        warmup_iters: lr.warmup_iters,
        warmup_ratio: lr.warmup_ratio,
        step: lr.step,
        gamma: lr.gamma,
        by_epoch: lr.by_epoch,
      },
    ],
    [
      'runner',
      byEpoch
        ? { type: 'EpochBasedRunner', max_epochs: length }
        : { type: 'IterBasedRunner', max_iters: length },
    ],
    [
      'checkpoint_config',
      t.checkpoint_interval > 0
        ? { interval: t.checkpoint_interval, by_epoch: false, max_keep_ckpts: t.keep_checkpoints }
        : { interval: length, by_epoch: byEpoch, max_keep_ckpts: t.keep_checkpoints },
    ],
    ['log_config', { interval: t.log_interval, hooks: [{ type: 'TextLoggerHook' }] }],
    ['dist_params', { backend: 'nccl' }],
    ['log_level', 'INFO'],
    ['load_from', null],
    ['resume_from', null],
    ['workflow', [tuple('train', 1)]],
  ];
  const header = [
    `# mmdetection v2 config written by \`ghmdet export-config --to mmdet${options.source ? ` ${options.source}` : ''}\`.`,
    `# Batch ${config.data.batch_size} = ${gpus} GPU(s) x samples_per_gpu ${config.data.batch_size / gpus}; ` +
      `seed: pass --seed ${t.seed} to tools/train.py.`,
    ...(config.description ? [`# ${config.description.replace(/\n/g, ' ')}`] : []),
    ...notes.map((n) => `# Note: ${n}`),
  ];
  const body = assignments.map(([name, value]) => `${name} = ${pythonLiteral(value)}`);
  return { text: [...header, ...body].join('\n') + '\n', notes };
}

/**
 * The top-level config file of `ghmdet train`: `{ model, data, train, eval }`, JSON, validated here with zod
 * at the boundary so every error names the field path (`train.lr_config.step[1]: ...`).
 *
 * - `model`: a (partial) `RetinaNetConfig` merged over a preset (`preset: 'shapes'` (default) or `'coco_r50'`),
 *   validated by `parseRetinaNetConfig` (src/detector/config.ts). `init_from: MODEL_DIR` starts training from
 *   a model directory's weights (src/detector/initFrom.ts); without a `preset` the model is then that
 *   directory's own architecture with the file's overrides (e.g. `numClasses`), read by `loadConfigFile`.
 * - `data`: which dataset, where, batch size and augmentation.
 * - `train`: mmdetection's schedule vocabulary (`optimizer`, `grad_clip`, `lr_config`, `total_epochs` or
 *   `max_iters`) plus seeds and intervals.
 * - `eval`: periodic and final evaluation on the validation split.
 * The resolved config (every default filled in, the model preset expanded) is what a run folder's
 * `config.json` holds, so `parseConfig(resolved)` gives it back unchanged.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { readModelDirInfo } from './detector/modelDir.js';
import {
  COCO_R50_CONFIG,
  SHAPES_CONFIG,
  retinaNetConfigProblems,
  type RetinaNetConfig,
} from './detector/config.js';
import { SHAPE_CLASSES } from './data/shapeGeometry.js';
import { resolveShapesOptions, type ShapesOptions } from './data/shapes.js';
import { issueLines } from './utils/configIssues.js';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

const splitSchema = z.strictObject({
  /** COCO-format annotation file (COCO) or ImageSets/Main list name (VOC, e.g. `trainval`). */
  ann_file: z.string().min(1),
  /** Folder the images' `file_name`s are relative to (COCO); unused for VOC. */
  img_prefix: z.string().optional(),
});

/** `ShapesOptions` of src/data/shapes.ts as a config section (types and known keys; ranges checked there). */
const shapesConfigSchema = z.strictObject({
  train: z.number().optional(),
  val: z.number().optional(),
  size: z.number().optional(),
  seed: z.number().optional(),
  classes: z.array(z.enum(SHAPE_CLASSES)).optional(),
  minObjects: z.number().optional(),
  maxObjects: z.number().optional(),
  minObjectSize: z.number().optional(),
  maxObjectSize: z.number().optional(),
  maxDistractors: z.number().optional(),
  minVisible: z.number().optional(),
  noise: z
    .strictObject({
      label: z.number().optional(),
      jitter: z.number().optional(),
      drop: z.number().optional(),
      jitterMagnitude: z.number().optional(),
    })
    .optional(),
});
// Every option of the generator is a key of the section, and no more (a compile-time check).
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const shapesKeysMatch: SameKeys<z.infer<typeof shapesConfigSchema>, ShapesOptions> = true;
void shapesKeysMatch;

export const dataConfigSchema = z.strictObject({
  /** Dataset kind. Default 'shapes' (synthetic, generated into `root` when absent). */
  type: z.enum(['shapes', 'coco', 'voc']).default('shapes'),
  /** Dataset folder (shapes: generated here; VOC: the VOCdevkit/VOC20xx folder). Default `data/shapes`. */
  root: z.string().min(1).default('data/shapes'),
  /** Options of the shapes generator (`ShapesOptions` of src/data/shapes.ts), for type 'shapes'. */
  shapes: shapesConfigSchema.default({}),
  /** Training and validation splits, for types 'coco' and 'voc'. */
  train: splitSchema.optional(),
  val: splitSchema.optional(),
  /** Images per batch. Default 8. */
  batch_size: posInt.default(8),
  /** Probability of a horizontal flip of a training image. Default 0.5. */
  flip_ratio: z.number().min(0).max(1).default(0.5),
  /** Seed of the loader's shuffling and augmentation. Default 0. */
  seed: nonNegInt.default(0),
});

export const trainConfigSchema = z
  .strictObject({
    /** Seed of the model initialisation. Default 0. */
    seed: nonNegInt.default(0),
    /** Length of the run in epochs (mmdet `total_epochs`) ... */
    total_epochs: posInt.optional(),
    /** ... or in iterations; exactly one of the two. */
    max_iters: posInt.optional(),
    optimizer: z
      .strictObject({
        type: z.literal('SGD').default('SGD'),
        lr: z.number().positive().default(0.01),
        momentum: z.number().min(0).lt(1).default(0.9),
        weight_decay: z.number().min(0).default(1e-4),
        /** Decay biases and norm parameters too (mmdetection's default). */
        decay_norm_and_bias: z.boolean().default(true),
      })
      .prefault({}),
    /** Clip the gradients' global L2 norm (the paper: 35); null for none. */
    grad_clip: z
      .strictObject({ max_norm: z.number().positive(), norm_type: z.literal(2).default(2) })
      .nullable()
      .default({ max_norm: 35, norm_type: 2 }),
    lr_config: z
      .strictObject({
        policy: z.literal('step').default('step'),
        warmup: z.literal('linear').nullable().default('linear'),
        warmup_iters: nonNegInt.default(500),
        warmup_ratio: z
          .number()
          .gt(0)
          .lte(1)
          .default(1 / 3),
        /** Epochs (by_epoch) or iterations at which the rate is multiplied by `gamma`. */
        step: z.array(nonNegInt).default([8, 11]),
        gamma: z.number().positive().default(0.1),
        by_epoch: z.boolean().default(true),
      })
      .prefault({}),
    /** Log record every this many iterations. Default 10. */
    log_interval: posInt.default(10),
    /** Checkpoint every this many iterations (0: only at the end). Default 0. */
    checkpoint_interval: nonNegInt.default(0),
    /**
     * Checkpoints kept. Default 2: a resume whose newest checkpoint is damaged falls back to the one before.
     */
    keep_checkpoints: posInt.default(2),
    /**
     * Write gradient statistics (`analysis/grad_stats_iter_NNNNNN.json`, src/analysis/runFiles.ts) every this
     * many iterations, on one fixed batch of training images (0: never). Default 0.
     */
    grad_stats_interval: nonNegInt.default(0),
    /**
     * Start from the weights of another run (mmdetection's `load_from`): the run folder whose current checkpoint
     * (weights and BatchNorm statistics) initialises the model before the first iteration, for fine-tuning.
     * Weights only: the optimizer's momentum, the losses' state (GHM's EMA) and the schedule start fresh. Both
     * models must have the same architecture. A resumed run continues from its own checkpoint. Default null.
     */
    load_from: z.string().min(1).nullable().default(null),
    /**
     * Data-parallel replicas, one thread each (src/train/dataParallelTraining.ts): `data.batch_size` is split
     * into this many equal shards. A run is deterministic for a given backend and worker count. `ghmdet train
     * --workers N` overrides it. Default 1.
     */
    workers: posInt.default(1),
  })
  .refine((t) => (t.total_epochs === undefined) !== (t.max_iters === undefined), {
    message: 'give exactly one of total_epochs and max_iters',
    path: ['max_iters'],
  })
  .refine((t) => t.lr_config.step.every((s, i, a) => i === 0 || s > a[i - 1]!), {
    message: 'steps must be strictly ascending',
    path: ['lr_config', 'step'],
  });

export const evalConfigSchema = z.strictObject({
  /** Evaluate every this many iterations during training (0: only at the end). Default 0. */
  interval: nonNegInt.default(0),
  /** Validation images used by periodic evaluations (null: all). The final evaluation uses all. */
  max_images: posInt.nullable().default(null),
  /** Images per inference batch. Default 8. */
  batch_size: posInt.default(8),
});

const fileSchema = z.strictObject({
  /** A free-text note on what the config is for. */
  description: z.string().optional(),
  model: z
    .looseObject({
      preset: z.enum(['shapes', 'coco_r50']).optional(),
      /** A model directory whose matching weights initialise the model (relative to the working directory). */
      init_from: z.string().min(1).optional(),
    })
    .default({}),
  data: dataConfigSchema.prefault({}),
  train: trainConfigSchema,
  eval: evalConfigSchema.prefault({}),
});

export type DataConfig = z.infer<typeof dataConfigSchema>;
export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type EvalConfig = z.infer<typeof evalConfigSchema>;

/** A resolved model section: a complete `RetinaNetConfig`, and where its initial weights come from. */
export type ModelSection = RetinaNetConfig & { init_from?: string };

/** The `RetinaNetConfig` of a model section (without `init_from`, which says where weights come from). */
export function retinaNetConfigOf(model: ModelSection): RetinaNetConfig {
  const { init_from: _from, ...config } = model;
  return config;
}

/** A resolved config: every default filled in, `model` a complete `RetinaNetConfig`. */
export interface GhmdetConfig {
  description?: string;
  model: ModelSection;
  data: DataConfig;
  train: TrainConfig;
  eval: EvalConfig;
}

const PRESETS: Record<string, RetinaNetConfig> = { shapes: SHAPES_CONFIG, coco_r50: COCO_R50_CONFIG };

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * The config of the `model.init_from` directory: the base of a model section that names no `preset`
   * (`loadConfigFile` reads it). Default: none (the shapes preset is the base).
   */
  initModelConfig?: RetinaNetConfig;
}

/**
 * Validates a config object (parsed JSON). `source` names it in errors (a file path). Throws one error listing
 * every problem as `path: message`.
 */
export function parseConfig(
  json: unknown,
  source = 'config',
  options: ParseConfigOptions = {},
): GhmdetConfig {
  const invalid = (lines: string[]) => new Error(`${source}: invalid config:\n  ${lines.join('\n  ')}`);
  const r = fileSchema.safeParse(json, { reportInput: true });
  if (!r.success) throw invalid(issueLines(fileSchema, r.error.issues));
  const { preset, init_from, ...modelOverrides } = r.data.model;
  const base =
    preset === undefined && options.initModelConfig !== undefined
      ? options.initModelConfig
      : PRESETS[preset ?? 'shapes']!;
  const m = retinaNetConfigProblems(modelOverrides, base, 'model');
  if (m.config === undefined) throw invalid(m.problems);
  const model: ModelSection = init_from !== undefined ? { ...m.config, init_from } : m.config;
  const data = r.data.data;
  try {
    resolveShapesOptions(data.shapes);
  } catch (err) {
    throw invalid([`data.shapes: ${(err as Error).message}`]);
  }
  if (data.type !== 'shapes' && (data.train === undefined || data.val === undefined))
    throw new Error(`${source}: data.train and data.val are required for data.type '${data.type}'`);
  const workers = r.data.train.workers;
  if (data.batch_size % workers !== 0)
    throw new Error(
      `${source}: data.batch_size ${data.batch_size} must be a multiple of train.workers ${workers} ` +
        '(each replica trains an equal shard)',
    );
  const description = r.data.description;
  return {
    ...(description !== undefined ? { description } : {}),
    model,
    data,
    train: r.data.train,
    eval: r.data.eval,
  };
}

/**
 * Reads and validates a JSON config file. With `model.init_from` (or `initFrom`, the `--init` flag, which
 * replaces it), the model directory's config is the base of a model section without a `preset`.
 */
export async function loadConfigFile(path: string, initFrom?: string): Promise<GhmdetConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`config file ${path} could not be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (initFrom !== undefined) json = withInitFrom(json, initFrom);
  const dir = initFromOf(json);
  const initModelConfig = dir === undefined ? undefined : (await readModelDirInfo(dir)).modelConfig;
  return parseConfig(json, path, initModelConfig !== undefined ? { initModelConfig } : {});
}

/** `json` with `model.init_from` set to `dir`. */
function withInitFrom(json: unknown, dir: string): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const o = json as Record<string, unknown>;
  const model = typeof o['model'] === 'object' && o['model'] !== null ? o['model'] : {};
  return { ...o, model: { ...model, init_from: dir } };
}

function initFromOf(json: unknown): string | undefined {
  const model = (json as { model?: { init_from?: unknown } } | null)?.model;
  return typeof model?.init_from === 'string' ? model.init_from : undefined;
}

/**
 * The run length and schedule in iterations: epochs (of `batchesPerEpoch` batches) are converted when the config
 * is epoch-based. Warm-up is always in iterations (mmdetection).
 */
export function iterationSchedule(
  train: TrainConfig,
  batchesPerEpoch: number,
): { maxIters: number; steps: number[]; warmupIters: number } {
  if (!(batchesPerEpoch >= 1))
    throw new Error(
      `iterationSchedule: batchesPerEpoch must be >= 1, got ${batchesPerEpoch}; is the training split empty?`,
    );
  const maxIters = train.max_iters ?? train.total_epochs! * batchesPerEpoch;
  const steps = train.lr_config.by_epoch
    ? train.lr_config.step.map((e) => e * batchesPerEpoch)
    : [...train.lr_config.step];
  return { maxIters, steps, warmupIters: train.lr_config.warmup === null ? 0 : train.lr_config.warmup_iters };
}

/**
 * The trainer's update rule from `train`: run length, lr schedule (in iterations), SGD options and clipping
 * (the `TrainerOptions` fields of src/train/trainer.ts; data-parallel replicas apply the same rule).
 */
export function trainerUpdate(
  train: TrainConfig,
  batchesPerEpoch: number,
): {
  maxIters: number;
  schedule: { baseLr: number; steps: number[]; gamma: number; warmupIters: number; warmupRatio: number };
  optimizer: { momentum: number; weightDecay: number; decayNormAndBias: boolean };
  gradClipMaxNorm: number | null;
} {
  const s = iterationSchedule(train, batchesPerEpoch);
  return {
    maxIters: s.maxIters,
    schedule: {
      baseLr: train.optimizer.lr,
      steps: s.steps,
      gamma: train.lr_config.gamma,
      warmupIters: s.warmupIters,
      warmupRatio: train.lr_config.warmup_ratio,
    },
    optimizer: {
      momentum: train.optimizer.momentum,
      weightDecay: train.optimizer.weight_decay,
      decayNormAndBias: train.optimizer.decay_norm_and_bias,
    },
    gradClipMaxNorm: train.grad_clip?.max_norm ?? null,
  };
}

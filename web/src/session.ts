/**
 * A training session of the shapes detector that runs wherever TF.js does (the playground's Web Worker,
 * `bench:browser`'s Node figure): the main job's net and data options (`configs/shapes_ghmc_ghmr.json`, passed
 * in: the page's build inlines it, Node reads it) with the classification loss the user picks, trained on shapes images rendered in memory, with the step's pieces from
 * `ghmdet/detector` (SGD with momentum, warm-up schedule, gradient clipping). Needs op gradients registered
 * (`@tensorflow/tfjs`) and, on wasm, `registerTrainingKernels('wasm')`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ALL_DETECTIONS,
  RetinaNet,
  SgdMomentum,
  clipCoefficient,
  collateSamples,
  collectGradientStats,
  detectorTrainable,
  globalNorm,
  localGradients,
  lrSchedule,
  renderSplitImage,
  resolveShapesOptions,
  transformSample,
  Random,
  type DatasetImage,
  type Detection,
  type DetectorBatch,
  type GradientFn,
  type GradientStats,
  type LossConfig,
  type ResolvedShapesOptions,
  type RgbImage,
  type StepGradients,
  type TransformedSample,
} from 'ghmdet/detector';
import { buildLoss, type BuiltLoss } from 'ghmdet/losses';

/** The classification losses the playground offers, in mmdetection's vocabulary (the paper's comparison). */
export const CLS_LOSSES = {
  CE: { type: 'CrossEntropyLoss', use_sigmoid: true, loss_weight: 1 },
  focal: { type: 'FocalLoss', use_sigmoid: true, gamma: 2, alpha: 0.25, loss_weight: 1 },
  'GHM-C': { type: 'GHMC', bins: 30, momentum: 0.75, use_sigmoid: true, loss_weight: 1 },
} as const satisfies Record<string, LossConfig>;
export type ClsLossName = keyof typeof CLS_LOSSES;

/** The parts of a ghmdet config file the session uses: the model and the shapes generator's options. */
export interface MainJobConfig {
  model: Record<string, unknown> & { head: Record<string, unknown> };
  data: { shapes: Record<string, unknown> };
}

export interface SessionOptions {
  /** The main job's config (`configs/shapes_ghmc_ghmr.json`). */
  config: MainJobConfig;
  clsLoss: ClsLossName;
  /** Images per step. Default 8. */
  batchSize?: number;
  /** Base learning rate (linear warm-up over the first 100 steps). Default 0.01. */
  lr?: number;
  /** Seed of the weights and of the batches. Default 0. */
  seed?: number;
  /** Distinct training images (rendered once, then kept). Default 2000. */
  trainImages?: number;
}

/** One training step, read back. */
export interface StepRecord {
  iter: number;
  loss: number;
  lossCls: number;
  lossBbox: number;
  lr: number;
  /** Wall time of the step (data, forward, backward, update), ms. */
  ms: number;
}

/** A validation image for display: RGB pixels and its ground truth. */
export interface ValidationImage {
  rgb: RgbImage;
  objects: { classIndex: number; bboxXyxy: [number, number, number, number] }[];
}

/** The main job's model config (the preset key belongs to the top-level config, not to the model). */
function modelConfig(config: MainJobConfig, clsLoss: ClsLossName): Record<string, unknown> {
  const { preset: _preset, ...model } = config.model;
  return {
    ...model,
    classNames: [...resolveShapesOptions().classes],
    head: { ...model.head, loss_cls: CLS_LOSSES[clsLoss] },
  };
}

export class TrainingSession {
  readonly model: RetinaNet;
  readonly shapes: ResolvedShapesOptions;
  readonly batchSize: number;
  iteration = 0;
  private readonly gradients: GradientFn<DetectorBatch>;
  private readonly optimizer: SgdMomentum;
  private readonly lr: (iter: number) => number;
  private readonly random: Random;
  private readonly samples = new Map<number, { rgb: RgbImage; record: DatasetImage }>();
  private readonly trainImages: number;
  private statsBatch: DetectorBatch | null = null;
  /** The losses the head built (kept to read GHM-C's statistics). */
  private readonly losses: BuiltLoss[] = [];

  constructor(readonly options: SessionOptions) {
    if (!(options.clsLoss in CLS_LOSSES))
      throw new Error(
        `TrainingSession: clsLoss ${JSON.stringify(options.clsLoss)}, expected one of ${Object.keys(CLS_LOSSES).join(', ')}`,
      );
    this.batchSize = options.batchSize ?? 8;
    this.trainImages = options.trainImages ?? 2000;
    this.shapes = resolveShapesOptions({ ...options.config.data.shapes, seed: options.seed ?? 0 });
    this.model = new RetinaNet(modelConfig(options.config, options.clsLoss), {
      seed: options.seed ?? 0,
      buildLoss: (cfg) => {
        const loss = buildLoss(cfg);
        this.losses.push(loss);
        return loss;
      },
    });
    const trainable = detectorTrainable(this.model);
    this.gradients = localGradients(trainable);
    this.optimizer = new SgdMomentum(trainable.variables, { momentum: 0.9, weightDecay: 1e-4 });
    this.lr = lrSchedule({ baseLr: options.lr ?? 0.01, warmupIters: 100 });
    this.random = new Random(options.seed ?? 0);
  }

  /** Training image `index`, rendered on first use. */
  private sample(index: number): { rgb: RgbImage; record: DatasetImage } {
    let s = this.samples.get(index);
    if (s === undefined) {
      const img = renderSplitImage(this.shapes, 'train', index);
      const size = this.shapes.size;
      s = {
        rgb: { data: img.pixels, width: size, height: size },
        record: {
          id: index + 1,
          fileName: '',
          width: size,
          height: size,
          annotations: img.objects.map((o, k) => ({
            id: k + 1,
            bboxXyxy: o.bboxXyxy,
            classIndex: o.classIndex,
            categoryId: o.classIndex + 1,
            iscrowd: false,
            area: o.area,
          })),
        },
      };
      this.samples.set(index, s);
    }
    return s;
  }

  /** A batch of training images, flipped at random, as the detector's input (the caller disposes `images`). */
  private batch(indices: number[], flips: boolean[]): DetectorBatch {
    const p = this.model.config.preprocess;
    const samples: TransformedSample[] = indices.map((i, k) => {
      const { rgb, record } = this.sample(i);
      return transformSample(rgb, record, flips[k]!, {
        resizeScale: [p.img_scale[0], p.img_scale[1]],
        mean: p.mean,
        std: p.std,
      });
    });
    const b = collateSamples(samples, p.size_divisor);
    return {
      images: tf.tensor4d(b.images, b.shape),
      gts: b.gtBoxes.map((boxes, i) => ({ boxesXyxy: boxes, labels: b.gtLabels[i]!, crowd: b.gtIgnore[i]! })),
    };
  }

  /** One SGD step on a random batch (clip at a global norm of 5, as the main job). */
  step(): StepRecord {
    const t0 = performance.now();
    const indices = Array.from({ length: this.batchSize }, () => this.random.int(0, this.trainImages - 1));
    const flips = indices.map(() => this.random.chance(0.5));
    const batch = this.batch(indices, flips);
    try {
      // localGradients computes on this thread, synchronously.
      const { grads, loss, terms } = this.gradients({
        data: batch,
        images: this.batchSize,
        epoch: 0,
        dispose: () => undefined,
      }) as StepGradients;
      const lr = this.lr(this.iteration);
      if (!Number.isFinite(loss)) {
        tf.dispose(grads);
        throw new Error(`TrainingSession: the loss is ${loss} at step ${this.iteration + 1}`);
      }
      this.optimizer.step(grads, lr, clipCoefficient(globalNorm(grads), 5));
      tf.dispose(grads);
      this.iteration++;
      return {
        iter: this.iteration,
        loss,
        lossCls: terms['loss_cls'] ?? NaN,
        lossBbox: terms['loss_bbox'] ?? NaN,
        lr,
        ms: performance.now() - t0,
      };
    } finally {
      batch.images.dispose();
    }
  }

  /** Gradient statistics (the paper's figures' data) of the model on a fixed batch of training images. */
  gradientStats(): GradientStats {
    this.statsBatch ??= this.batch(
      Array.from({ length: this.batchSize }, (_, i) => i),
      Array.from({ length: this.batchSize }, () => false),
    );
    return collectGradientStats(this.model, this.statsBatch, { iteration: this.iteration });
  }

  /** GHM-C's bin weights of its last training call (with its EMA), or null for CE and focal loss. */
  ghmWeights(): number[] | null {
    return this.losses.find((l) => l.type === 'GHMC')?.lastStats()?.binWeights ?? null;
  }

  /** Validation image `index` (the val split of the same generator). */
  validationImage(index: number): ValidationImage {
    const img = renderSplitImage(this.shapes, 'val', index);
    const size = this.shapes.size;
    return { rgb: { data: img.pixels, width: size, height: size }, objects: img.objects };
  }

  /** The model's detections on validation images, best first (at most `maxNumBoxes` each, any score). */
  detect(images: ValidationImage[], maxNumBoxes = 10): Detection[][] {
    return images.map((im) => this.model.detectSync(im.rgb, { ...ALL_DETECTIONS, maxNumBoxes }));
  }

  dispose(): void {
    this.statsBatch?.images.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}

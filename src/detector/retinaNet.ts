/**
 * `RetinaNet`: backbone -> FPN -> shared RetinaNet head, with training loss and inference in one object.
 *
 * Frames: `forward`/`computeLoss`/`predict` work in network-input pixels (images already resized, normalised
 * and padded, as the data loader produces them); `detect` takes one raw image and reports boxes in its own
 * pixels, xywh, like TF.js's coco-ssd model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildLoss } from '../losses/build.js';
import { concatLevelAnchors, generateAnchors, type LevelAnchors } from './anchors.js';
import { ResNetBackbone } from './backbone.js';
import { parseRetinaNetConfig, type RetinaNetConfig } from './config.js';
import { Fpn } from './fpn.js';
import { prepareImage, type ImageInput } from './imageInput.js';
import type { LossBuilder } from './lossContract.js';
import { ParamStore } from './params.js';
import { postprocessImage, type Detections } from './postprocess.js';
import { RetinaHead, type HeadOutputs, type LossResult } from './retinaHead.js';
import { encodeImageTargets, type ImageGroundTruth, type ImageTargets } from './targets.js';

/** Construction options. */
export interface RetinaNetOptions {
  /** Seed of the weight initialisation. Default 0. */
  seed?: number;
  /** Loss factory; default `buildLoss` of `src/losses` (with its value checks on). */
  buildLoss?: LossBuilder;
}

/** One detection as `detect` reports it (coco-ssd style): `bbox` is [x, y, width, height] in image pixels. */
export interface Detection {
  bbox: [number, number, number, number];
  /** `classNames[classIndex]`, or the index as a string without names. */
  class: string;
  classIndex: number;
  /** Sigmoid score in (0, 1). */
  score: number;
}

/**
 * Filters of `detect`, applied after the post-processing (whose `test_cfg.score_thr` and `max_per_img` apply
 * first); the defaults are coco-ssd's.
 */
export interface DetectOptions {
  /** Keep at most this many detections, an integer >= 0 or Infinity. Default 20. */
  maxNumBoxes?: number;
  /** Keep detections with a score of at least this, in [0, 1]. Default 0.5. */
  minScore?: number;
}

/** coco-ssd's defaults of `detect(img, maxNumBoxes = 20, minScore = 0.5)`. */
export const DETECT_DEFAULTS: Required<DetectOptions> = { maxNumBoxes: 20, minScore: 0.5 };

/** Every detection the post-processing keeps (what COCO evaluation scores). */
export const ALL_DETECTIONS: Required<DetectOptions> = { maxNumBoxes: Infinity, minScore: 0 };

/** The filters of a `detect` call from either form: `(maxNumBoxes?, minScore?)` or `(options)`. */
function detectFilters(
  optionsOrMax: DetectOptions | number | undefined,
  minScoreArg: number | undefined,
): Required<DetectOptions> {
  let maxNumBoxes: number | undefined;
  let minScore: number | undefined;
  if (typeof optionsOrMax === 'object' && optionsOrMax !== null) {
    if (minScoreArg !== undefined)
      throw new Error('detect: pass either (image, maxNumBoxes, minScore) or (image, options), not both');
    ({ maxNumBoxes, minScore } = optionsOrMax);
  } else if (optionsOrMax !== undefined && typeof optionsOrMax !== 'number') {
    throw new Error(
      `detect: \`maxNumBoxes\` must be a number or an options object, got ${typeof optionsOrMax}`,
    );
  } else {
    maxNumBoxes = optionsOrMax;
    minScore = minScoreArg;
  }
  maxNumBoxes ??= DETECT_DEFAULTS.maxNumBoxes;
  minScore ??= DETECT_DEFAULTS.minScore;
  if (!(maxNumBoxes === Infinity || (Number.isInteger(maxNumBoxes) && maxNumBoxes >= 0)))
    throw new Error(`detect: \`maxNumBoxes\` must be an integer >= 0 or Infinity, got ${maxNumBoxes}`);
  if (typeof minScore !== 'number' || !(minScore >= 0 && minScore <= 1))
    throw new Error(`detect: \`minScore\` must be a number in [0, 1], got ${minScore}`);
  return { maxNumBoxes, minScore };
}

/** GHM EMA states (or any loss state) of both losses, for checkpoints. */
export interface LossStates {
  loss_cls: unknown;
  loss_bbox: unknown;
}

export class RetinaNet {
  readonly config: RetinaNetConfig;
  readonly params: ParamStore;
  readonly backbone: ResNetBackbone;
  readonly neck: Fpn;
  readonly head: RetinaHead;
  private readonly anchorCache = new Map<string, LevelAnchors[]>();

  /** @param config a full or partial config (merged over the shapes preset, validated). */
  constructor(config: unknown = {}, options: RetinaNetOptions = {}) {
    this.config = parseRetinaNetConfig(config);
    this.params = new ParamStore(options.seed ?? 0);
    this.backbone = new ResNetBackbone(this.params, this.config.backbone);
    this.neck = new Fpn(this.params, this.config.neck, this.backbone.outChannels);
    this.head = new RetinaHead(
      this.params,
      this.config.head,
      this.config.numClasses,
      this.config.neck.outChannels,
      options.buildLoss ?? ((cfg) => buildLoss(cfg)),
      { momentum: this.config.backbone.normMomentum, eps: this.config.backbone.normEps },
    );
  }

  /** Trainable variables (for `optimizer.computeGradients` / `tf.variableGrads`). */
  get variables(): tf.Variable[] {
    return [...this.params.trainable.values()];
  }

  /** BatchNorm running statistics (updated by `forward(…, true)`, used by `forward(…, false)`). */
  get nonTrainableVariables(): tf.Variable[] {
    return [...this.params.nonTrainable.values()];
  }

  /** Trainable variables with their stable names, in a fixed order (checkpoint keys). */
  namedTrainableVariables(): { name: string; variable: tf.Variable }[] {
    return [...this.params.trainable].map(([name, variable]) => ({ name, variable }));
  }

  /** BatchNorm running statistics with their stable names (checkpoint "buffers"). */
  namedBuffers(): { name: string; variable: tf.Variable }[] {
    return [...this.params.nonTrainable].map(([name, variable]) => ({ name, variable }));
  }

  /** Every variable by its stable logical name (what save/load use). */
  namedVariables(): Map<string, tf.Variable> {
    return this.params.all();
  }

  /**
   * @param images `[B, H, W, 3]` normalised float32, H and W multiples of min(32, largest stride).
   * @param training batch statistics in BatchNorm (and running-statistics update) when true.
   */
  forward(images: tf.Tensor4D, training: boolean): HeadOutputs {
    // Backbone stages stop at stride 32; coarser levels (P6, P7) give ceil(size / 2) and accept any size.
    const maxStride = Math.min(32, Math.max(...this.config.head.anchor_generator.strides));
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw new Error(`images has shape [${images.shape}], expected [B, H, W, 3] normalised RGB`);
    }
    if (images.shape[1] % maxStride !== 0 || images.shape[2] % maxStride !== 0) {
      throw new Error(
        `images has size ${images.shape[1]}x${images.shape[2]}, expected multiples of ${maxStride}; ` +
          `pad the batch (preprocess.size_divisor)`,
      );
    }
    const feats = this.backbone.apply(images, training);
    const pyramid = this.neck.apply(feats);
    tf.dispose(feats);
    const out = this.head.apply(pyramid, training);
    tf.dispose(pyramid);
    return out;
  }

  /** Anchors of every level for the given feature-map sizes (cached per input size). */
  anchors(featureSizes: [number, number][]): LevelAnchors[] {
    const key = featureSizes.map((s) => s.join('x')).join(',');
    let a = this.anchorCache.get(key);
    if (a === undefined) {
      a = generateAnchors(featureSizes, this.config.head.anchor_generator);
      this.anchorCache.set(key, a);
    }
    return a;
  }

  /** Training targets of each image for the given feature-map sizes (typed arrays, no tensors). */
  encodeTargets(featureSizes: [number, number][], gts: ImageGroundTruth[]): ImageTargets[] {
    const all = concatLevelAnchors(this.anchors(featureSizes));
    const h = this.config.head;
    return gts.map((gt) => encodeImageTargets(all, gt, this.config.numClasses, h.assigner, h.bbox_coder));
  }

  /**
   * Training loss of a batch: forward in training mode, target encoding, head loss.
   * Meant to run inside `optimizer.computeGradients(() => model.computeLoss(...).loss)` or `tf.variableGrads`.
   *
   * @param images `[B, H, W, 3]` normalised; @param gts one entry per image, boxes xyxy in input pixels.
   * @returns `loss` (scalar) and `terms` (scalars). Inside a gradient function every tensor but the returned
   * loss is freed when it ends: `tf.keep` the terms there to read them afterwards (the trainer does).
   */
  computeLoss(images: tf.Tensor4D, gts: ImageGroundTruth[]): LossResult {
    if (gts.length !== images.shape[0]) {
      throw new Error(`gts has ${gts.length} entries, expected one per image (${images.shape[0]})`);
    }
    const outputs = this.forward(images, true);
    const targets = this.encodeTargets(outputs.featureSizes, gts);
    const r = this.head.computeLoss(outputs, targets);
    tf.dispose([...outputs.clsLogits, ...outputs.bboxDeltas]);
    return r;
  }

  /**
   * Detections of a prepared batch in network-input pixels (xyxy), BatchNorm in inference mode.
   *
   * @param imageShapes `[height, width]` of each image's valid (unpadded) area, for clipping; default: the
   * padded input size.
   */
  predict(images: tf.Tensor4D, imageShapes?: [number, number][]): Detections[] {
    const b = images.shape[0];
    const out = this.forward(images, false);
    const levels = this.anchors(out.featureSizes);
    const scores = out.clsLogits.map((t) => {
      const s = tf.sigmoid(t);
      const d = s.dataSync() as Float32Array;
      s.dispose();
      return d;
    });
    const deltas = out.bboxDeltas.map((t) => t.dataSync() as Float32Array);
    tf.dispose([...out.clsLogits, ...out.bboxDeltas]);
    const k = this.config.numClasses;
    const res: Detections[] = [];
    for (let i = 0; i < b; i++) {
      const shape = imageShapes?.[i] ?? [images.shape[1], images.shape[2]];
      const ls = scores.map((s) => s.subarray(i * (s.length / b), (i + 1) * (s.length / b)));
      const ld = deltas.map((d) => d.subarray(i * (d.length / b), (i + 1) * (d.length / b)));
      res.push(
        postprocessImage(
          ls,
          ld,
          levels.map((l) => l.anchorsXyxy),
          k,
          this.config.test_cfg,
          this.config.head.bbox_coder,
          shape,
        ),
      );
    }
    return res;
  }

  /**
   * Detects objects in one image, as coco-ssd's `model.detect(img, maxNumBoxes = 20, minScore = 0.5)`.
   *
   * @param image a `[H, W, 3]` RGB tensor (uint8 or float 0..255), `ImageData` or raw `{data, width, height}`
   *   pixels, or (in a browser) an image, canvas or video element or an `ImageBitmap`.
   * @param maxNumBoxes keep at most this many detections (default 20); or an options object
   *   `{ maxNumBoxes, minScore }` ({@link ALL_DETECTIONS} keeps everything the post-processing keeps).
   * @param minScore keep detections scoring at least this (default 0.5).
   * @returns detections by descending score: `bbox` [x, y, width, height] in the image's own pixels, `class`
   *   the class name (`config.classNames`, or the index as a string), `classIndex`, `score`.
   */
  detect(image: ImageInput, maxNumBoxes?: number, minScore?: number): Promise<Detection[]>;
  detect(image: ImageInput, options: DetectOptions): Promise<Detection[]>;
  async detect(
    image: ImageInput,
    optionsOrMax?: DetectOptions | number,
    minScore?: number,
  ): Promise<Detection[]> {
    return this.detectSync(image, detectFilters(optionsOrMax, minScore));
  }

  /** Synchronous {@link detect}. */
  detectSync(image: ImageInput, maxNumBoxes?: number, minScore?: number): Detection[];
  detectSync(image: ImageInput, options: DetectOptions): Detection[];
  detectSync(image: ImageInput, optionsOrMax?: DetectOptions | number, minScoreArg?: number): Detection[] {
    const { maxNumBoxes, minScore } = detectFilters(optionsOrMax, minScoreArg);
    const { input, meta } = prepareImage(image, this.config.preprocess);
    let det: Detections;
    try {
      det = this.predict(input, [meta.resizedSize])[0]!;
    } finally {
      input.dispose();
    }
    const [sy, sx] = meta.scale;
    const [h, w] = meta.originalSize;
    const names = this.config.classNames;
    const out: Detection[] = [];
    for (let i = 0; i < det.scores.length && out.length < maxNumBoxes; i++) {
      if (det.scores[i]! < minScore) break;
      const x1 = Math.min(w, Math.max(0, det.boxesXyxy[4 * i]! / sx));
      const y1 = Math.min(h, Math.max(0, det.boxesXyxy[4 * i + 1]! / sy));
      const x2 = Math.min(w, Math.max(0, det.boxesXyxy[4 * i + 2]! / sx));
      const y2 = Math.min(h, Math.max(0, det.boxesXyxy[4 * i + 3]! / sy));
      const c = det.classIndex[i]!;
      out.push({
        bbox: [x1, y1, x2 - x1, y2 - y1],
        class: names?.[c] ?? String(c),
        classIndex: c,
        score: det.scores[i]!,
      });
    }
    return out;
  }

  /** Loss states (GHM EMA `acc_sum`) for checkpoints; builds the losses if needed. */
  getLossStates(): LossStates {
    const { cls, bbox } = this.head.lossModules;
    return { loss_cls: cls.getState(), loss_bbox: bbox.getState() };
  }

  setLossStates(states: LossStates): void {
    const { cls, bbox } = this.head.lossModules;
    cls.setState(states.loss_cls);
    bbox.setState(states.loss_bbox);
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.params.numTrainable();
  }

  dispose(): void {
    this.params.dispose();
    this.anchorCache.clear();
  }
}

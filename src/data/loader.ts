/**
 * The batch loader: turns a `DetectionDataset` into batches of normalised, padded images with their boxes,
 * in a seeded shuffled order that can be saved and restored exactly (for checkpoint resume), decoding
 * ahead of the consumer (`prefetch`) and keeping decoded images in memory for small datasets (`cache`).
 *
 * Per image: decode (sharp, async) -> keep-ratio resize (optional) -> horizontal flip with probability
 * `flipProb` -> normalise -> copy into the batch buffer, zero-padded at the bottom/right.
 *
 * Order: each epoch starts from a `Random` state; from it the loader draws the permutation of the images
 * (when `shuffle`) and then one flip decision per image, and the state after those draws starts the next
 * epoch. So `{ epoch, index, rngState }` (the epoch's start state and the next batch's index) determines
 * every later batch; `state()` / `restore()` save and restore it. The loader keeps no tensors: the trainer
 * makes them from the typed arrays.
 */
import { join } from 'node:path';
import { Random } from '../utils/random.js';
import type { DetectionDataset } from './dataset.js';
import { decodeImageFile } from './image.js';
import { collateSamples, transformSample, type RgbImage } from './sample.js';
import { IMAGENET_MEAN, IMAGENET_STD } from './transforms.js';

export { transformSample } from './sample.js';
export type { TransformedSample } from './sample.js';

export interface LoaderOptions {
  /** Images per batch. Default 8. */
  batchSize?: number;
  /** Shuffle the order every epoch. Default true. */
  shuffle?: boolean;
  /** Seed of the order and flips. Default 0. */
  seed?: number;
  /** Probability of a horizontal flip per image. Default 0 (set 0.5 for training, as mmdetection). */
  flipProb?: number;
  /** Keep-ratio resize scale [long, short] (see `keepRatioSize`); `[S, S]` = longest side S. Default: no resize. */
  resizeScale?: [number, number] | null;
  /** RGB mean and std of the normalisation (0..255 units). Defaults: mmdetection's ImageNet values. */
  mean?: [number, number, number];
  std?: [number, number, number];
  /** Pad the batch's height and width up to a multiple of this. Default 32. */
  sizeDivisor?: number;
  /** Fixed batch [height, width] (every batch the same shape); must hold every transformed image. Default: per batch. */
  padShape?: [number, number] | null;
  /** Leave out the last, smaller batch of each epoch. Default false. */
  dropLast?: boolean;
  /** Leave out images without annotations (mmdetection's `filter_empty_gt` for training). Default false. */
  filterEmpty?: boolean;
  /** Batches decoded ahead of the consumer. Default 2. */
  prefetch?: number;
  /** Keep decoded images in memory: true, false, or 'auto' (when all images fit in `cacheMaxBytes`). Default 'auto'. */
  cache?: boolean | 'auto';
  /** Memory bound of `cache: 'auto'`, bytes of decoded RGB. Default 512 MiB. */
  cacheMaxBytes?: number;
}

/** Where the loader is: enough to reproduce every later batch exactly. Plain JSON, for checkpoints. */
export interface LoaderState {
  /** Epoch of the next batch (0-based). */
  epoch: number;
  /** Index of the next batch within its epoch (0-based). */
  index: number;
  /** `Random` state at the start of that epoch. */
  rngState: number;
  /** Images per epoch and batch size, checked on restore so a state is not applied to another setup. */
  numImages: number;
  batchSize: number;
}

/**
 * One batch. B = images in this batch (batchSize, or fewer in an epoch's last batch unless `dropLast`);
 * H, W = the padded input size (multiples of `sizeDivisor`, or `padShape`).
 */
export interface DetectionBatch {
  /** [B, H, W, 3] float32, normalised RGB `(x - mean) / std`, zero at the padding (bottom/right). */
  images: Float32Array;
  /** [B, H, W, 3]. */
  shape: [number, number, number, number];
  /** Per image: Float32Array [n_i, 4] xyxy in the input's pixels (resized and flipped; padding moves nothing). */
  gtBoxes: Float32Array[];
  /** Per image: Int32Array [n_i] class indices 0..numClasses-1. */
  gtLabels: Int32Array[];
  /** Per image: Uint8Array [n_i], 1 for boxes to ignore in training (COCO iscrowd, VOC difficult), else 0. */
  gtIgnore: Uint8Array[];
  /** Per image: the dataset's image id. */
  imageIds: number[];
  /** Per image: [scaleX, scaleY], input pixels = original pixels * scale (`boxesToOriginal` inverts it). */
  scaleFactors: [number, number][];
  /** Per image: [height, width] after resize, before padding (predictions are clipped to it). */
  imageShapes: [number, number][];
  /** Per image: [height, width] of the original image. */
  originalShapes: [number, number][];
  /** Per image: whether it was flipped horizontally. */
  flipped: boolean[];
  /** Epoch and index within it of this batch. */
  epoch: number;
  index: number;
}

type Resolved = Required<Omit<LoaderOptions, 'resizeScale' | 'padShape'>> & {
  resizeScale: [number, number] | null;
  padShape: [number, number] | null;
};

function resolve(o: LoaderOptions): Resolved {
  const r: Resolved = {
    batchSize: o.batchSize ?? 8,
    shuffle: o.shuffle ?? true,
    seed: o.seed ?? 0,
    flipProb: o.flipProb ?? 0,
    resizeScale: o.resizeScale ?? null,
    mean: o.mean ?? IMAGENET_MEAN,
    std: o.std ?? IMAGENET_STD,
    sizeDivisor: o.sizeDivisor ?? 32,
    padShape: o.padShape ?? null,
    dropLast: o.dropLast ?? false,
    filterEmpty: o.filterEmpty ?? false,
    prefetch: o.prefetch ?? 2,
    cache: o.cache ?? 'auto',
    cacheMaxBytes: o.cacheMaxBytes ?? 512 * 1024 * 1024,
  };
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1)
    throw new Error(`DetectionLoader: batchSize must be an integer >= 1, got ${r.batchSize}`);
  if (!(r.flipProb >= 0 && r.flipProb <= 1))
    throw new Error(`DetectionLoader: flipProb must be in [0, 1], got ${r.flipProb}`);
  if (!Number.isInteger(r.sizeDivisor) || r.sizeDivisor < 1)
    throw new Error(`DetectionLoader: sizeDivisor must be an integer >= 1, got ${r.sizeDivisor}`);
  if (!Number.isInteger(r.prefetch) || r.prefetch < 0)
    throw new Error(`DetectionLoader: prefetch must be an integer >= 0, got ${r.prefetch}`);
  if (r.std.some((s) => !(s > 0))) throw new Error(`DetectionLoader: std must be positive, got [${r.std}]`);
  return r;
}

export class DetectionLoader {
  readonly options: Resolved;
  /** Indices into `dataset.images` of the images the loader serves (all, or the non-empty ones). */
  readonly imageIndices: number[];
  /** Batches per epoch. */
  readonly batchesPerEpoch: number;
  private readonly rng: Random;
  private readonly cache: Map<number, Promise<RgbImage>> | null;
  private epoch = 0;
  private epochStart = 0;
  private order: number[] = [];
  private flips: boolean[] = [];
  /** Index of the next batch to plan (start decoding) within `epoch`. */
  private planIndex = 0;
  private queue: { state: LoaderState; batch: Promise<DetectionBatch> }[] = [];

  constructor(
    readonly dataset: DetectionDataset,
    options: LoaderOptions = {},
  ) {
    this.options = resolve(options);
    const o = this.options;
    this.imageIndices = dataset.images.flatMap((im, i) =>
      o.filterEmpty && im.annotations.length === 0 ? [] : [i],
    );
    const n = this.imageIndices.length;
    if (n === 0) throw new Error(`DetectionLoader: the dataset (root ${dataset.root}) has no images to load`);
    this.batchesPerEpoch = o.dropLast ? Math.floor(n / o.batchSize) : Math.ceil(n / o.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new Error(
        `DetectionLoader: dropLast with batchSize ${o.batchSize} > ${n} images leaves no batch`,
      );
    }
    const bytes = this.imageIndices.reduce(
      (s, i) => s + dataset.images[i]!.width * dataset.images[i]!.height * 3,
      0,
    );
    this.cache = o.cache === true || (o.cache === 'auto' && bytes <= o.cacheMaxBytes) ? new Map() : null;
    this.rng = new Random(o.seed);
    this.startEpoch(0, this.rng.getState());
  }

  /** True when decoded images are kept in memory. */
  get caching(): boolean {
    return this.cache !== null;
  }

  private startEpoch(epoch: number, rngState: number): void {
    this.rng.setState(rngState);
    this.epoch = epoch;
    this.epochStart = rngState;
    this.order = [...this.imageIndices];
    if (this.options.shuffle) this.rng.shuffle(this.order);
    this.flips = this.order.map(() => this.rng.chance(this.options.flipProb));
    this.planIndex = 0;
  }

  /** The state of the next batch that `next()` will return. */
  state(): LoaderState {
    return this.queue.length > 0 ? { ...this.queue[0]!.state } : this.planState();
  }

  /** The state of the next batch to plan (the queue aside). */
  private planState(): LoaderState {
    const common = { numImages: this.imageIndices.length, batchSize: this.options.batchSize };
    if (this.planIndex >= this.batchesPerEpoch) {
      return { epoch: this.epoch + 1, index: 0, rngState: this.rng.getState(), ...common };
    }
    return { epoch: this.epoch, index: this.planIndex, rngState: this.epochStart, ...common };
  }

  /** Continues from a saved `state()`: the following batches are those that followed it originally. */
  restore(state: LoaderState): void {
    const ok =
      Number.isInteger(state?.epoch) &&
      state.epoch >= 0 &&
      Number.isInteger(state.index) &&
      state.index >= 0 &&
      state.index < this.batchesPerEpoch &&
      Number.isInteger(state.rngState) &&
      state.rngState >= 0 &&
      state.rngState <= 0xffffffff;
    if (!ok) {
      throw new Error(
        `DetectionLoader.restore: expected { epoch >= 0, index in 0..${this.batchesPerEpoch - 1}, rngState uint32 }, ` +
          `got ${JSON.stringify(state)}`,
      );
    }
    if (state.numImages !== this.imageIndices.length || state.batchSize !== this.options.batchSize) {
      throw new Error(
        `DetectionLoader.restore: the state is for ${state.numImages} images in batches of ${state.batchSize}, ` +
          `this loader has ${this.imageIndices.length} in batches of ${this.options.batchSize}; ` +
          `was the dataset or the batch size changed since the checkpoint?`,
      );
    }
    this.queue = [];
    this.startEpoch(state.epoch, state.rngState);
    this.planIndex = state.index;
  }

  /** The next batch (epochs follow one another without end; `batchesPerEpoch` batches make one). */
  async next(): Promise<DetectionBatch> {
    if (this.queue.length === 0) this.queue.push(this.plan());
    const item = this.queue.shift()!;
    while (this.queue.length < this.options.prefetch) this.queue.push(this.plan());
    return item.batch;
  }

  /** Starts loading the next batch in order and returns it with the state that precedes it. */
  private plan(): { state: LoaderState; batch: Promise<DetectionBatch> } {
    if (this.planIndex >= this.batchesPerEpoch) this.startEpoch(this.epoch + 1, this.rng.getState());
    const state = this.planState();
    const b = this.options.batchSize;
    const lo = this.planIndex * b;
    const hi = Math.min(lo + b, this.order.length);
    const batch = this.load(this.order.slice(lo, hi), this.flips.slice(lo, hi), this.epoch, this.planIndex);
    // Mark as handled so a prefetched batch that fails is reported when consumed, not as an unhandled rejection.
    batch.catch(() => undefined);
    this.planIndex++;
    return { state, batch };
  }

  private decode(i: number): Promise<RgbImage> {
    const img = this.dataset.images[i]!;
    const run = () =>
      decodeImageFile(join(this.dataset.root, img.fileName), `image id ${img.id}`, {
        width: img.width,
        height: img.height,
      });
    if (this.cache === null) return run();
    let p = this.cache.get(i);
    if (p === undefined) {
      p = run();
      this.cache.set(i, p);
      p.catch(() => this.cache!.delete(i));
    }
    return p;
  }

  private async load(
    indices: number[],
    flips: boolean[],
    epoch: number,
    index: number,
  ): Promise<DetectionBatch> {
    const o = this.options;
    const decoded = await Promise.all(indices.map((i) => this.decode(i)));
    const samples = decoded.map((im, k) =>
      transformSample(im, this.dataset.images[indices[k]!]!, flips[k]!, o),
    );
    const batch = collateSamples(samples, o.sizeDivisor, o.padShape);
    return {
      ...batch,
      imageIds: indices.map((i) => this.dataset.images[i]!.id),
      scaleFactors: samples.map((s) => [s.scaleX, s.scaleY]),
      imageShapes: samples.map((s) => [s.height, s.width]),
      originalShapes: decoded.map((d) => [d.height, d.width]),
      flipped: flips,
      epoch,
      index,
    };
  }
}

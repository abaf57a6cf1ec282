/**
 * How many negatives the training assigner makes per positive on a dataset: the imbalance that focal loss and
 * GHM-C are built for (about 100k anchors per COCO image against a handful of positives).
 *
 * Counted exactly, not estimated: every training image goes through the training loader without flips (the
 * same resize, padding and `filter_empty_gt` as training) and the detector's own `encodeTargets` (anchors,
 * max-IoU assigner with its low-quality matches), and the assignments are summed. A positive anchor has a box
 * target, an ignored one (IoU between the two thresholds) has label weight 0, every other anchor is a negative.
 *
 * Per (anchor, class) pair, as the sigmoid losses see them: a positive anchor gives one positive pair and K - 1
 * negative pairs, a negative anchor K negative pairs, an ignored anchor none.
 *
 * Flips move the anchors' grid relative to the objects (anchor centres sit at multiples of the stride from the
 * left edge), so a flipped image can give slightly other counts; the numbers here are those of the unflipped
 * training set.
 */
import type { ImageTargets } from '../detector/targets.js';

/** Anchors by assignment, summed over images; anchors of one pyramid level or of all. */
export interface AnchorCounts {
  positives: number;
  negatives: number;
  ignored: number;
}

/** The assignment counts of a dataset under a detector's anchors and assigner. */
export interface AnchorBalance {
  /** Images counted (the training split as the loader trains on it: images with at least one box). */
  images: number;
  /** Ground-truth boxes in those images (crowd boxes included; they are never assigned). */
  objects: number;
  /** Classes K (pairs per anchor). */
  numClasses: number;
  /** Anchors per image, all levels (the mean when image sizes differ). */
  anchorsPerImage: number;
  /** Summed over images and levels. */
  total: AnchorCounts;
  /** Per pyramid level, in the order of the anchor generator's strides. */
  levels: (AnchorCounts & { stride: number })[];
  /** negatives / positives over anchors (Infinity without positives). */
  negativesPerPositive: number;
  /** Negative / positive (anchor, class) pairs, K * negatives + (K - 1) * positives over positives. */
  negativePairsPerPositivePair: number;
  /** Positive anchors per ground-truth box. */
  positivesPerObject: number;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : Infinity);

/**
 * Accumulates the targets of images (`ImageTargets` of the detector's `encodeTargets`) into an
 * {@link AnchorBalance}.
 */
export class AnchorBalanceAccumulator {
  private images = 0;
  private objects = 0;
  private anchors = 0;
  private readonly levels: (AnchorCounts & { stride: number })[];

  /**
   * @param numClasses K, columns of the targets' `labels`.
   * @param levelStrides the stride of each level, in anchor order.
   */
  constructor(
    readonly numClasses: number,
    levelStrides: readonly number[],
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new Error(`numClasses: expected an integer >= 1, got ${numClasses}`);
    this.levels = levelStrides.map((stride) => ({ stride, positives: 0, negatives: 0, ignored: 0 }));
  }

  /**
   * Adds one image.
   * @param targets the image's targets, anchors in the detector's order (levels in order).
   * @param levelSizes anchors of each level for this image's input size, summing to the targets' anchors.
   * @param numObjects ground-truth boxes of the image.
   */
  add(targets: ImageTargets, levelSizes: readonly number[], numObjects: number): this {
    const a = targets.labelWeights.length;
    if (levelSizes.length !== this.levels.length)
      throw new Error(`levelSizes has ${levelSizes.length} levels, expected ${this.levels.length}`);
    const sum = levelSizes.reduce((s, n) => s + n, 0);
    if (sum !== a)
      throw new Error(
        `levelSizes sum to ${sum} anchors, the targets hold ${a}; were they encoded for another input size?`,
      );
    if (targets.bboxWeights.length !== 4 * a)
      throw new Error(`bboxWeights has length ${targets.bboxWeights.length}, expected 4 * ${a}`);
    let start = 0;
    levelSizes.forEach((n, l) => {
      const c = this.levels[l]!;
      for (let i = start; i < start + n; i++) {
        if (targets.bboxWeights[4 * i]! > 0) c.positives++;
        else if (targets.labelWeights[i]! > 0) c.negatives++;
        else c.ignored++;
      }
      start += n;
    });
    this.images++;
    this.objects += numObjects;
    this.anchors += a;
    return this;
  }

  result(): AnchorBalance {
    const total: AnchorCounts = { positives: 0, negatives: 0, ignored: 0 };
    for (const l of this.levels) {
      total.positives += l.positives;
      total.negatives += l.negatives;
      total.ignored += l.ignored;
    }
    const k = this.numClasses;
    return {
      images: this.images,
      objects: this.objects,
      numClasses: k,
      anchorsPerImage: this.images > 0 ? this.anchors / this.images : 0,
      total,
      levels: this.levels.map((l) => ({ ...l })),
      negativesPerPositive: ratio(total.negatives, total.positives),
      negativePairsPerPositivePair: ratio(k * total.negatives + (k - 1) * total.positives, total.positives),
      positivesPerObject: ratio(total.positives, this.objects),
    };
  }
}

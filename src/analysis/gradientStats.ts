/**
 * Gradient-norm statistics of one batch, the raw material of the paper's figures (spec section 5).
 *
 * Classification (spec section 1, eq. 1-3): for every valid (anchor, class) pair with logit x and binary label
 * y, the CE gradient with respect to x is p - y (p = sigmoid(x)) and its norm is g = |p - y| in [0, 1].
 * Regression (eq. 17-19): for every valid coordinate of a positive anchor, d = pred - target and the ASL1
 * gradient norm is g_r = |d| / sqrt(d^2 + mu^2) in [0, 1).
 *
 * For each family the statistics hold:
 *  - a fine histogram of the norm (`bins` equal bins over [0, 1], 100 by default) with, per fine bin, the sums
 *    of the original norm, of a baseline loss's norm (focal loss for classification, smooth L1 for regression)
 *    and of the GHM re-weighted norm beta * g, so the figures can draw the distribution of g (Fig. 2), the
 *    re-weighted norm against g (Fig. 3) and the cumulative gradient contribution (Fig. 1 right);
 *  - the GHM unit regions (30 for GHM-C, 10 for GHM-R by default) with their counts R_j and weights
 *    beta_j = N / (R_j * n), n = number of non-empty regions (the reference code's division by n, spec 2.5.1),
 *    momentum-free: the batch's own density, as in the paper's figure recipe. N is the count of valid pairs for
 *    GHM-C and the sum of the (0/1) weights for GHM-R, exactly as the reference losses (spec 2.1, 2.2).
 *
 * Focal-loss gradient norm in terms of g (gamma > 0, no alpha; alpha only rescales positives against negatives).
 * With p_t = p for a positive and 1 - p for a negative, FL = -(1 - p_t)^gamma ln p_t and g = 1 - p_t in both
 * cases. dp_t/dx = +-p_t (1 - p_t), so
 *   |dFL/dx| = |gamma (1-p_t)^gamma p_t ln p_t - (1-p_t)^(gamma+1)|
 *            = (1-p_t)^gamma ((1-p_t) - gamma p_t ln p_t)          (both terms >= 0 since ln p_t <= 0)
 *            = g^gamma (g - gamma (1 - g) ln(1 - g)),
 * the same function for positives and negatives; at g = 1 the limit of (1-g) ln(1-g) is 0, so it is g^gamma.
 *
 * Smooth L1 gradient norm (eq. 16) with threshold beta: min(|d| / beta, 1).
 *
 * For regression the GHM-R regions are also split by coordinate (dx, dy, dw, dh: `coordinates`), so one can see
 * whose gradient GHM-R's weights move: the centre offsets' or the sizes'.
 *
 * Besides the norms, each family records how well the head fits its targets, the quantity behind them:
 * classification, the share of positive anchors whose highest-scoring class is their label (`positiveTop1`);
 * regression, per coordinate (dx, dy, dw, dh) the Pearson correlation of predicted and target deltas and their
 * standard deviations over the valid coordinates (`fit`). A head that learns the box sizes but not the centre
 * offsets shows a high correlation for dw, dh and none for dx, dy.
 *
 * All element-wise work runs as tensor ops; the histograms are `tf.bincount`s over a joint (fine bin, unit
 * region) index, read back once as one small array, then reduced in JS. Bins are float32 sums, so counts are
 * exact up to 2^24 valid elements per call.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Format version of {@link GradientStats}; bumped when a field changes meaning. */
export const GRADIENT_STATS_VERSION = 1;

/** Histograms of one gradient norm over the fine bins and over the GHM unit regions. */
export interface NormHistogram {
  /** Number of fine bins F over [0, 1]; fine bin i is [i/F, (i+1)/F), the last one also holds 1. */
  bins: number;
  /** Valid elements per fine bin, length F. */
  counts: number[];
  /** Sum of the original norm g (CE for classification, ASL1 for regression) per fine bin, length F. */
  sumNorm: number[];
  /** Sum of the baseline's norm per fine bin (focal loss / smooth L1), length F. */
  sumBaselineNorm: number[];
  /** Sum of the GHM re-weighted norm beta * g per fine bin, length F. */
  sumGhmNorm: number[];
  /** Mean GHM weight beta of the elements of each fine bin (0 for an empty fine bin), length F. */
  ghmWeight: number[];
}

/** The GHM unit regions and their momentum-free weights. */
export interface GhmRegions {
  /** Number of unit regions M; region j is [j/M, (j+1)/M), the last one closed (GHM-C) or up to 1e3 (GHM-R). */
  bins: number;
  /** R_j: valid elements per region, length M. */
  counts: number[];
  /** beta_j = N / (R_j * n) for a non-empty region, 0 for an empty one, length M. */
  weights: number[];
  /** n: number of non-empty regions. */
  nonEmpty: number;
  /** N: max(1, count of valid elements) for GHM-C, max(1, sum of weights) for GHM-R. */
  total: number;
}

export interface ClassificationGradientStats {
  /** Rows of the logits (anchors of all images of the batch). */
  numAnchors: number;
  /** Columns of the logits (classes, without background). */
  numClasses: number;
  /** Valid (anchor, class) pairs (label weight > 0). */
  numValid: number;
  /** Valid pairs with label 1. */
  numPositive: number;
  /** Valid pairs with label 0. */
  numNegative: number;
  /** Focal loss gamma used for `fine.sumBaselineNorm`. */
  focalGamma: number;
  /** Histograms of g = |sigmoid(x) - y|; `sumBaselineNorm` is the focal-loss norm. */
  fine: NormHistogram;
  /** Valid positive pairs per fine bin, length F. */
  positiveCounts: number[];
  /** Valid negative pairs per fine bin, length F. */
  negativeCounts: number[];
  /** GHM-C unit regions. */
  ghmc: GhmRegions;
  /** Anchors with a valid positive pair (label 1). Absent in files written before it existed. */
  positiveAnchors?: number;
  /** Share of those whose largest logit is at their label (0 without positive anchors). Absent likewise. */
  positiveTop1?: number;
}

/** Fit of predicted to target deltas, per coordinate in the order dx, dy, dw, dh, over the valid coordinates. */
export interface DeltaFit {
  /** Pearson correlation of prediction and target (0 when either is constant). */
  correlation: number[];
  /** Standard deviation of the targets. */
  targetStd: number[];
  /** Standard deviation of the predictions. */
  predStd: number[];
}

export interface RegressionGradientStats {
  /** Rows of the regression inputs (positive anchors). */
  numPositives: number;
  /** Valid coordinates (weight > 0); each coordinate is one example, as in GHM-R. */
  numValid: number;
  /** ASL1 mu. */
  mu: number;
  /** Smooth L1 threshold beta used for `fine.sumBaselineNorm`. */
  smoothL1Beta: number;
  /** Histograms of g_r = |d| / sqrt(d^2 + mu^2); `sumBaselineNorm` is the smooth-L1 norm min(|d|/beta, 1). */
  fine: NormHistogram;
  /** GHM-R unit regions. */
  ghmr: GhmRegions;
  /** How well the predicted deltas follow the targets. Absent in files written before it existed. */
  fit?: DeltaFit;
  /** The GHM-R regions per coordinate. Absent in files written before it existed. */
  coordinates?: CoordinateRegions;
}

/**
 * The GHM-R unit regions split by coordinate, rows in the order dx, dy, dw, dh: where each coordinate's g_r falls
 * and what it carries. With the regions' weights beta_j (`ghmr.weights`, shared by all coordinates, as in GHM-R)
 * the GHM-R gradient of coordinate c is sum_j beta_j sumNorm[c][j], smooth L1's sum_j sumBaselineNorm[c][j].
 */
export interface CoordinateRegions {
  /** Valid coordinates per region, [4][M]. */
  counts: number[][];
  /** Sum of g_r per region, [4][M]. */
  sumNorm: number[][];
  /** Sum of the smooth-L1 norm min(|d| / beta, 1) per region, [4][M]. */
  sumBaselineNorm: number[][];
}

/** Gradient statistics of one batch; plain JSON. */
export interface GradientStats {
  version: number;
  /** Training iteration the statistics were taken at, or null when unknown. */
  iteration: number | null;
  /** Null when no classification input was given. */
  classification: ClassificationGradientStats | null;
  /** Null when no regression input was given. */
  regression: RegressionGradientStats | null;
}

/** Classification inputs. */
export interface ClassificationInput {
  /** `logits: [N, K]`, real; N anchors (all images and levels flattened), K classes without background. */
  logits: tf.Tensor | tf.TensorLike;
  /** `labels: [N, K]`, one-hot in {0, 1}; a background anchor is an all-zero row. */
  labels: tf.Tensor | tf.TensorLike;
  /** `labelWeights: [N]` or `[N, K]`, >= 0; a pair is valid when its weight is > 0 (magnitude unused). */
  labelWeights: tf.Tensor | tf.TensorLike;
}

/** Regression inputs, positives only. */
export interface RegressionInput {
  /** `bboxPred: [P, 4]`, predicted deltas (dx, dy, dw, dh) of the positive anchors. */
  bboxPred: tf.Tensor | tf.TensorLike;
  /** `bboxTargets: [P, 4]`, encoded target deltas. */
  bboxTargets: tf.Tensor | tf.TensorLike;
  /** `bboxWeights: [P, 4]`, >= 0; a coordinate is valid when its weight is > 0. */
  bboxWeights: tf.Tensor | tf.TensorLike;
}

export interface GradientStatsOptions {
  /** Iteration recorded in the result. Default null. */
  iteration?: number | null;
  /** Fine bins over [0, 1] for both families. Default 100. */
  fineBins?: number;
  /** GHM-C unit regions M. Default 30 (the reference config). */
  ghmcBins?: number;
  /** GHM-R unit regions. Default 10. */
  ghmrBins?: number;
  /** ASL1 mu. Default 0.02. */
  mu?: number;
  /** Focal loss gamma. Default 2. */
  focalGamma?: number;
  /** Smooth L1 beta. Default 0.11 (the RetinaNet baseline). */
  smoothL1Beta?: number;
}

export const DEFAULT_GRADIENT_STATS_OPTIONS = {
  iteration: null,
  fineBins: 100,
  ghmcBins: 30,
  ghmrBins: 10,
  mu: 0.02,
  focalGamma: 2,
  smoothL1Beta: 0.11,
} as const satisfies Required<GradientStatsOptions>;

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected an integer >= 1, got ${v}`);
  return v;
}

function positiveNumber(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name}: expected a finite number > 0, got ${v}`);
  return v;
}

function toFloat(x: tf.Tensor | tf.TensorLike, name: string): tf.Tensor {
  if (x instanceof tf.Tensor) return tf.cast(x, 'float32');
  try {
    return tf.tensor(x, undefined, 'float32');
  } catch (e) {
    throw new Error(`${name}: expected a tensor or nested numeric array, ${(e as Error).message}`);
  }
}

function checkShape(name: string, t: tf.Tensor, expected: number[], hint: string): void {
  if (t.rank !== expected.length || t.shape.some((d, i) => expected[i]! >= 0 && d !== expected[i])) {
    const want = expected.map((d) => (d < 0 ? '?' : String(d))).join(', ');
    throw new Error(`${name}: expected shape [${want}], got [${t.shape.join(', ')}]; ${hint}`);
  }
}

/**
 * Unit-region index of each norm, equal to the reference's `edges[j] <= g < edges[j+1]` with float32 edges
 * j/M (spec 2.7): floor(g*M), corrected by one where float rounding crossed an edge, then clamped to M-1 (so
 * g = 1 for GHM-C and g_r up to the 1e3 edge for GHM-R land in the last region). `norm: [E]` in [0, 1].
 */
function regionIndex(norm: tf.Tensor1D, bins: number): tf.Tensor1D {
  return tf.tidy(() => {
    const edges = tf.div(tf.round(tf.mul(tf.linspace(0, 1, bins + 1), bins)), bins) as tf.Tensor1D; // j/M in float32
    const one = tf.scalar(1, 'int32');
    let idx = tf.cast(tf.clipByValue(tf.floor(tf.mul(norm, bins)), 0, bins - 1), 'int32');
    idx = tf.sub(idx, tf.cast(tf.less(norm, tf.gather(edges, idx)), 'int32'));
    idx = tf.add(idx, tf.cast(tf.greaterEqual(norm, tf.gather(edges, tf.add(idx, one))), 'int32'));
    idx = tf.minimum(idx, tf.scalar(bins - 1, 'int32'));
    return idx as tf.Tensor1D;
  });
}

/** Fine-bin index min(floor(g*F), F-1) of `norm: [E]` in [0, 1]. */
function fineIndex(norm: tf.Tensor1D, bins: number): tf.Tensor1D {
  return tf.tidy(
    () => tf.cast(tf.clipByValue(tf.floor(tf.mul(norm, bins)), 0, bins - 1), 'int32') as tf.Tensor1D,
  );
}

/**
 * Joint histograms over (fine bin, region): returns a tensor `[S, F*M]` whose row s is the bincount of the joint
 * index weighted by `weights[s]` (each `[E]`, zero for invalid elements).
 */
function jointHistograms(
  norm: tf.Tensor1D,
  fineBins: number,
  regionBins: number,
  weights: tf.Tensor1D[],
): tf.Tensor2D {
  return tf.tidy(() => {
    const fine = tf.mul(fineIndex(norm, fineBins), tf.scalar(regionBins, 'int32'));
    const joint = tf.add(fine, regionIndex(norm, regionBins)) as tf.Tensor1D;
    return tf.stack(weights.map((w) => tf.bincount(joint, w, fineBins * regionBins))) as tf.Tensor2D;
  });
}

/** Reduces the joint rows [count, sumNorm, sumBaseline, ...extra] to the fine histograms and the regions. */
function reduceJoint(
  rows: Float64Array,
  fineBins: number,
  regionBins: number,
  total: number,
): { fine: NormHistogram; regions: GhmRegions; extra: (row: number) => number[] } {
  const size = fineBins * regionBins;
  const at = (row: number, f: number, r: number): number => rows[row * size + f * regionBins + r]!;
  const regionCounts = new Array<number>(regionBins).fill(0);
  for (let f = 0; f < fineBins; f++) for (let r = 0; r < regionBins; r++) regionCounts[r]! += at(0, f, r);
  const nonEmpty = regionCounts.filter((c) => c > 0).length;
  const weights = regionCounts.map((c) => (c > 0 ? total / (c * nonEmpty) : 0));
  const fineSum = (row: number, scale?: number[]): number[] =>
    Array.from({ length: fineBins }, (_, f) => {
      let s = 0;
      for (let r = 0; r < regionBins; r++) s += at(row, f, r) * (scale ? scale[r]! : 1);
      return s;
    });
  const counts = fineSum(0);
  const weightSum = fineSum(0, weights);
  const fine: NormHistogram = {
    bins: fineBins,
    counts,
    sumNorm: fineSum(1),
    sumBaselineNorm: fineSum(2),
    sumGhmNorm: fineSum(1, weights),
    ghmWeight: counts.map((c, f) => (c > 0 ? weightSum[f]! / c : 0)),
  };
  return {
    fine,
    regions: { bins: regionBins, counts: regionCounts, weights, nonEmpty, total },
    extra: (row) => fineSum(row),
  };
}

/** Joint rows of one classification batch: [valid, sum g, sum FL norm, positives, negatives] x (F*M). */
function classificationRows(input: ClassificationInput, o: Required<GradientStatsOptions>) {
  const parts = tf.tidy(() => {
    const logits = toFloat(input.logits, 'logits');
    checkShape('logits', logits, [-1, -1], 'expected [numAnchors, numClasses] classification logits');
    const [n, k] = logits.shape as [number, number];
    const labels = toFloat(input.labels, 'labels');
    checkShape('labels', labels, [n, k], 'expected one-hot labels of the same shape as logits');
    let lw = toFloat(input.labelWeights, 'labelWeights');
    if (lw.rank === 1) {
      checkShape('labelWeights', lw, [n], 'expected [numAnchors] or [numAnchors, numClasses]');
      lw = tf.tile(tf.reshape(lw, [n, 1]), [1, k]); // one weight per anchor, broadcast to every class
    } else checkShape('labelWeights', lw, [n, k], 'expected [numAnchors] or [numAnchors, numClasses]');
    const x = tf.reshape(logits, [-1]) as tf.Tensor1D;
    const y = tf.reshape(labels, [-1]);
    const valid = tf.cast(tf.greater(tf.reshape(lw, [-1]), 0), 'float32') as tf.Tensor1D;
    const pos = tf.mul(tf.cast(tf.greater(y, 0.5), 'float32'), valid) as tf.Tensor1D;
    const neg = tf.sub(valid, pos) as tf.Tensor1D;
    const g = tf.clipByValue(tf.abs(tf.sub(tf.sigmoid(x), y)), 0, 1) as tf.Tensor1D;
    const gamma = o.focalGamma;
    const oneMinus = tf.sub(1, g);
    // g^gamma (g - gamma (1-g) ln(1-g)); the max() keeps ln finite at g = 1 where (1-g) ln(1-g) -> 0.
    const fl = tf.mul(
      tf.pow(g, gamma),
      tf.sub(g, tf.mul(tf.mul(oneMinus, tf.log(tf.maximum(oneMinus, 1e-30))), gamma)),
    );
    const rows = jointHistograms(g, o.fineBins, o.ghmcBins, [
      valid,
      tf.mul(g, valid) as tf.Tensor1D,
      tf.mul(fl, valid) as tf.Tensor1D,
      pos,
      neg,
    ]);
    // Positive anchors and those whose top logit is their label (ties resolved to the first class).
    const posAnchor = tf.greater(tf.sum(tf.reshape(pos, [n, k]), 1), 0);
    const top1 = tf.logicalAnd(posAnchor, tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)));
    const anchorCounts = tf.stack([tf.sum(tf.cast(posAnchor, 'float32')), tf.sum(tf.cast(top1, 'float32'))]);
    return { rows: tf.concat([tf.reshape(rows, [-1]), anchorCounts]), n, k };
  });
  const all = parts.rows.dataSync() as Float32Array;
  parts.rows.dispose();
  const size = 5 * o.fineBins * o.ghmcBins;
  return {
    rows: all.subarray(0, size),
    positiveAnchors: all[size]!,
    top1: all[size + 1]!,
    anchors: parts.n,
    classes: parts.k,
  };
}

/** Joint rows of one regression batch: [valid, sum g_r, sum smooth-L1 norm] x (F*M), and the weight sum. */
function regressionRows(input: RegressionInput, o: Required<GradientStatsOptions>) {
  const parts = tf.tidy(() => {
    const pred = toFloat(input.bboxPred, 'bboxPred');
    checkShape('bboxPred', pred, [-1, 4], 'expected [numPositives, 4] deltas (dx, dy, dw, dh)');
    const p = pred.shape[0]!;
    const target = toFloat(input.bboxTargets, 'bboxTargets');
    checkShape('bboxTargets', target, [p, 4], 'expected encoded targets of the same shape as bboxPred');
    const w = toFloat(input.bboxWeights, 'bboxWeights');
    checkShape('bboxWeights', w, [p, 4], 'expected per-coordinate weights of the same shape as bboxPred');
    const d = tf.reshape(tf.sub(pred, target), [-1]);
    const wf = tf.reshape(w, [-1]);
    const valid = tf.cast(tf.greater(wf, 0), 'float32') as tf.Tensor1D;
    const absD = tf.abs(d);
    const gr = tf.clipByValue(tf.div(absD, tf.sqrt(tf.add(tf.square(d), o.mu * o.mu))), 0, 1) as tf.Tensor1D;
    const sl1 = tf.minimum(tf.div(absD, o.smoothL1Beta), 1);
    const rows = jointHistograms(gr, o.fineBins, o.ghmrBins, [
      valid,
      tf.mul(gr, valid) as tf.Tensor1D,
      tf.mul(sl1, valid) as tf.Tensor1D,
    ]);
    // [P, 4] flattened row-major: element i is coordinate i % 4; joint index coordinate * M + region.
    const coordinate = tf.tile(tf.range(0, 4, 1, 'int32'), [p]);
    const byCoordinate = tf.add(
      tf.mul(coordinate, tf.scalar(o.ghmrBins, 'int32')),
      regionIndex(gr, o.ghmrBins),
    ) as tf.Tensor1D;
    const coords = tf.stack(
      [valid, tf.mul(gr, valid), tf.mul(sl1, valid)].map((wt) =>
        tf.bincount(byCoordinate, wt as tf.Tensor1D, 4 * o.ghmrBins),
      ),
    );
    // The reference GHM-R normaliser is the SUM of the weights of the valid coordinates (spec 2.2).
    const weightSum = tf.sum(tf.mul(wf, valid));
    // Per-coordinate moments over the valid coordinates: n, sum p, sum t, sum p^2, sum t^2, sum p*t -> [6, 4].
    const v = tf.cast(tf.greater(w, 0), 'float32');
    const pv = tf.mul(pred, v);
    const tv = tf.mul(target, v);
    const moments = tf.stack([
      tf.sum(v, 0),
      tf.sum(pv, 0),
      tf.sum(tv, 0),
      tf.sum(tf.mul(pv, pred), 0),
      tf.sum(tf.mul(tv, target), 0),
      tf.sum(tf.mul(pv, target), 0),
    ]);
    return {
      rows: tf.concat([
        tf.reshape(rows, [-1]),
        tf.reshape(weightSum, [1]),
        tf.reshape(moments, [-1]),
        tf.reshape(coords, [-1]),
      ]),
      p,
    };
  });
  const all = parts.rows.dataSync() as Float32Array;
  parts.rows.dispose();
  const size = o.fineBins * o.ghmrBins;
  const coordStart = 3 * size + 1 + 24;
  return {
    rows: all.subarray(0, 3 * size),
    weightSum: all[3 * size]!,
    moments: all.subarray(3 * size + 1, coordStart),
    coordinates: all.subarray(coordStart, coordStart + 3 * 4 * o.ghmrBins),
    positives: parts.p,
  };
}

/** Correlations and standard deviations from the moments [n, Sp, St, Spp, Stt, Spt] x 4 coordinates. */
function deltaFit(m: Float64Array): DeltaFit {
  const fit: DeltaFit = { correlation: [], targetStd: [], predStd: [] };
  for (let c = 0; c < 4; c++) {
    const at = (row: number): number => m[row * 4 + c]!;
    const [n, sp, st, spp, stt, spt] = [at(0), at(1), at(2), at(3), at(4), at(5)];
    const varP = n > 0 ? Math.max(spp / n - (sp / n) ** 2, 0) : 0;
    const varT = n > 0 ? Math.max(stt / n - (st / n) ** 2, 0) : 0;
    const cov = n > 0 ? spt / n - (sp / n) * (st / n) : 0;
    fit.correlation.push(varP > 0 && varT > 0 ? cov / Math.sqrt(varP * varT) : 0);
    fit.targetStd.push(Math.sqrt(varT));
    fit.predStd.push(Math.sqrt(varP));
  }
  return fit;
}

/** [count, sum g_r, sum smooth-L1 norm] x 4 x M -> per-coordinate rows. */
function coordinateRegions(rows: Float64Array, bins: number): CoordinateRegions {
  const block = (row: number): number[][] =>
    [0, 1, 2, 3].map((c) => Array.from(rows.subarray((row * 4 + c) * bins, (row * 4 + c + 1) * bins)));
  return { counts: block(0), sumNorm: block(1), sumBaselineNorm: block(2) };
}

function addInto(acc: Float64Array, rows: Float32Array): void {
  for (let i = 0; i < rows.length; i++) acc[i]! += rows[i]!;
}

function sumOfFirst(rows: Float64Array, size: number): number {
  let s = 0;
  for (let i = 0; i < size; i++) s += rows[i]!;
  return s;
}

function resolveOptions(options: GradientStatsOptions): Required<GradientStatsOptions> {
  const o: Required<GradientStatsOptions> = { ...DEFAULT_GRADIENT_STATS_OPTIONS, ...options };
  positiveInt('fineBins', o.fineBins);
  positiveInt('ghmcBins', o.ghmcBins);
  positiveInt('ghmrBins', o.ghmrBins);
  positiveNumber('mu', o.mu);
  if (!(Number.isFinite(o.focalGamma) && o.focalGamma >= 0))
    throw new Error(`focalGamma: expected a finite number >= 0, got ${o.focalGamma}`);
  positiveNumber('smoothL1Beta', o.smoothL1Beta);
  return o;
}

/** Inputs of one batch; either family may be omitted. */
export interface GradientStatsInputs {
  classification?: ClassificationInput;
  regression?: RegressionInput;
}

interface ClsAccumulated {
  rows: Float64Array;
  anchors: number;
  classes: number;
  positiveAnchors: number;
  top1: number;
}

interface RegAccumulated {
  rows: Float64Array;
  positives: number;
  weightSum: number;
  /** [n, Sp, St, Spp, Stt, Spt] x 4 coordinates, summed over batches. */
  moments: Float64Array;
  /** [count, sum g_r, sum smooth-L1 norm] x 4 coordinates x M regions, summed over batches. */
  coordinates: Float64Array;
}

/**
 * Accumulates the histograms of several batches (e.g. a few hundred images run through a converged model, the
 * paper's figure recipe) and turns them into one {@link GradientStats}: the GHM weights then describe the
 * density of all examples seen, as if they had formed one batch.
 */
export class GradientStatsAccumulator {
  readonly options: Required<GradientStatsOptions>;
  private cls: ClsAccumulated | null = null;
  private reg: RegAccumulated | null = null;

  constructor(options: GradientStatsOptions = {}) {
    this.options = resolveOptions(options);
  }

  /** Adds one batch. Tensors passed in are not disposed; nothing else is left allocated. */
  add(inputs: GradientStatsInputs): this {
    const o = this.options;
    if (inputs.classification) {
      const r = classificationRows(inputs.classification, o);
      if (this.cls === null) {
        this.cls = {
          rows: new Float64Array(r.rows.length),
          anchors: 0,
          classes: r.classes,
          positiveAnchors: 0,
          top1: 0,
        };
      }
      if (r.classes !== this.cls.classes) {
        throw new Error(
          `logits: got ${r.classes} classes, expected ${this.cls.classes} as in the earlier batches`,
        );
      }
      addInto(this.cls.rows, r.rows);
      this.cls.anchors += r.anchors;
      this.cls.positiveAnchors += r.positiveAnchors;
      this.cls.top1 += r.top1;
    }
    if (inputs.regression) {
      const r = regressionRows(inputs.regression, o);
      if (this.reg === null) {
        this.reg = {
          rows: new Float64Array(r.rows.length),
          positives: 0,
          weightSum: 0,
          moments: new Float64Array(24),
          coordinates: new Float64Array(r.coordinates.length),
        };
      }
      addInto(this.reg.rows, r.rows);
      addInto(this.reg.moments, r.moments);
      addInto(this.reg.coordinates, r.coordinates);
      this.reg.positives += r.positives;
      this.reg.weightSum += r.weightSum;
    }
    return this;
  }

  /** The statistics of everything added so far; `iteration` defaults to the constructor option. */
  result(iteration: number | null = this.options.iteration): GradientStats {
    return {
      version: GRADIENT_STATS_VERSION,
      iteration,
      classification: this.cls === null ? null : this.classificationResult(this.cls),
      regression: this.reg === null ? null : this.regressionResult(this.reg),
    };
  }

  private classificationResult(c: ClsAccumulated) {
    const o = this.options;
    const numValid = sumOfFirst(c.rows, o.fineBins * o.ghmcBins);
    const { fine, regions, extra } = reduceJoint(c.rows, o.fineBins, o.ghmcBins, Math.max(numValid, 1));
    const positiveCounts = extra(3);
    const numPositive = positiveCounts.reduce((a, b) => a + b, 0);
    const result: ClassificationGradientStats = {
      numAnchors: c.anchors,
      numClasses: c.classes,
      numValid,
      numPositive,
      numNegative: numValid - numPositive,
      focalGamma: o.focalGamma,
      fine,
      positiveCounts,
      negativeCounts: extra(4),
      ghmc: regions,
      positiveAnchors: c.positiveAnchors,
      positiveTop1: c.positiveAnchors > 0 ? c.top1 / c.positiveAnchors : 0,
    };
    return result;
  }

  private regressionResult(r: RegAccumulated) {
    const o = this.options;
    const { fine, regions } = reduceJoint(r.rows, o.fineBins, o.ghmrBins, Math.max(r.weightSum, 1));
    const result: RegressionGradientStats = {
      numPositives: r.positives,
      numValid: sumOfFirst(r.rows, o.fineBins * o.ghmrBins),
      mu: o.mu,
      smoothL1Beta: o.smoothL1Beta,
      fine,
      ghmr: regions,
      fit: deltaFit(r.moments),
      coordinates: coordinateRegions(r.coordinates, o.ghmrBins),
    };
    return result;
  }
}

/**
 * Computes the gradient statistics of one batch. Either input may be omitted (its field is then null).
 * Tensors passed in are not disposed; nothing else is left allocated.
 */
export function computeGradientStats(
  inputs: GradientStatsInputs,
  options: GradientStatsOptions = {},
): GradientStats {
  return new GradientStatsAccumulator(options).add(inputs).result();
}

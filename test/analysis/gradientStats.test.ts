import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { computeGradientStats, GradientStatsAccumulator } from '../../src/analysis/gradientStats.js';

const close = (a: number, b: number, tol = 1e-5): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

// The GHM-C reference vector of the spec (section 2.2): 6 anchors, 1 class, the last one ignored.
const clsInput = {
  logits: [[-4], [-3], [2], [0], [5], [-1]],
  labels: [[0], [0], [1], [1], [0], [0]],
  labelWeights: [1, 1, 1, 1, 1, 0],
};
// The GHM-R reference vector: 8 coordinates as 2 positives x 4, the last two coordinates ignored.
const regInput = {
  bboxPred: [
    [0, 0.01, 0.5, -0.2],
    [0.03, 1, 0, 0],
  ],
  bboxTargets: [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ],
  bboxWeights: [
    [1, 1, 1, 1],
    [1, 1, 0, 0],
  ],
};

for (const backend of ['cpu', 'wasm']) {
  test(`gradientStats (${backend}): head fit, positive-anchor top-1 and per-coordinate delta correlations`, async () => {
    await setupBackend({ backend });
    const before = tf.memory().numTensors;
    // Anchor 0: positive of class 1, ranked first; anchor 1: positive of class 0, class 2 ranked first;
    // anchor 2: background; anchor 3: a positive whose weight is 0 (ignored).
    const classification = {
      logits: [
        [0, 3, 1],
        [1, -2, 2],
        [5, 5, 5],
        [9, 0, 0],
      ],
      labels: [
        [0, 1, 0],
        [1, 0, 0],
        [0, 0, 0],
        [1, 0, 0],
      ],
      labelWeights: [1, 1, 1, 0],
    };
    // dx: pred = 2 t + 1 (correlation 1), dy: pred = -t (-1), dw: constant pred (0), dh: pred = t except an
    // invalid coordinate whose prediction is far off (left out, so 1).
    const t = [-0.2, 0.1, 0.3, -0.1];
    const bboxTargets = t.map((v) => [v, v, v, v]);
    const bboxPred = t.map((v, i) => [2 * v + 1, -v, 0.5, i === 3 ? 40 : v]);
    const bboxWeights = t.map((_, i) => [1, 1, 1, i === 3 ? 0 : 1]);
    const whole = computeGradientStats({
      classification,
      regression: { bboxPred, bboxTargets, bboxWeights },
    });
    const c = whole.classification!;
    assert.equal(c.positiveAnchors, 2);
    close(c.positiveTop1!, 0.5);
    const f = whole.regression!.fit!;
    close(f.correlation[0]!, 1);
    close(f.correlation[1]!, -1);
    assert.equal(f.correlation[2], 0);
    close(f.correlation[3]!, 1);
    const mean = t.reduce((a, b) => a + b) / 4;
    const std = Math.sqrt(t.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    close(f.targetStd[0]!, std);
    close(f.predStd[0]!, 2 * std);
    close(f.predStd[2]!, 0);
    // Two batches through the accumulator give the statistics of their union.
    const half = (a: number[][], lo: number, hi: number) => a.slice(lo, hi);
    const acc = new GradientStatsAccumulator();
    for (const [lo, hi] of [
      [0, 2],
      [2, 4],
    ] as const) {
      acc.add({
        regression: {
          bboxPred: half(bboxPred, lo, hi),
          bboxTargets: half(bboxTargets, lo, hi),
          bboxWeights: half(bboxWeights, lo, hi),
        },
      });
    }
    const split = acc.result().regression!.fit!;
    split.correlation.forEach((r, i) => close(r, f.correlation[i]!));
    split.predStd.forEach((s, i) => close(s, f.predStd[i]!));
    assert.equal(tf.memory().numTensors, before);
  });

  test(`gradientStats (${backend}): GHM-C regions and weights match the reference vector`, async () => {
    await setupBackend({ backend });
    const s = computeGradientStats(
      { classification: clsInput },
      { ghmcBins: 10, fineBins: 10, iteration: 7 },
    );
    const c = s.classification!;
    assert.equal(s.iteration, 7);
    assert.equal(s.regression, null);
    assert.equal(c.numAnchors, 6);
    assert.equal(c.numClasses, 1);
    assert.equal(c.numValid, 5);
    assert.equal(c.numPositive, 2);
    assert.equal(c.numNegative, 3);
    // g = [0.018, 0.047, 0.119, 0.5, 0.993] -> regions 0, 0, 1, 5, 9.
    assert.deepEqual(c.ghmc.counts, [2, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    assert.equal(c.ghmc.nonEmpty, 4);
    assert.equal(c.ghmc.total, 5);
    // beta = N / (R_j n): 5 / (2*4) and 5 / (1*4), the spec's w = [0.625, 0.625, 1.25, 1.25, 1.25].
    const expectW = [0.625, 1.25, 0, 0, 0, 1.25, 0, 0, 0, 1.25];
    c.ghmc.weights.forEach((w, j) => close(w, expectW[j]!));
    c.fine.ghmWeight.forEach((w, j) => close(w, expectW[j]!));
    assert.deepEqual(c.positiveCounts, [0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.deepEqual(c.negativeCounts, [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const g = [-4, -3, 2, 0, 5].map((x, i) =>
      Math.abs(1 / (1 + Math.exp(-x)) - (i === 2 || i === 3 ? 1 : 0)),
    );
    close(c.fine.sumNorm[0]!, g[0]! + g[1]!);
    close(c.fine.sumNorm[9]!, g[4]!);
    close(c.fine.sumGhmNorm[0]!, 0.625 * (g[0]! + g[1]!));
    close(c.fine.sumGhmNorm[5]!, 1.25 * 0.5);
    // Every non-empty region carries the same total weight N / n = 1.25 (spec section 5, Fig. 1 right).
    c.ghmc.counts.forEach((r, j) => (r > 0 ? close(r * c.ghmc.weights[j]!, 1.25) : undefined));
  });

  test(`gradientStats (${backend}): 100 fine bins place each g in floor(100 g)`, async () => {
    await setupBackend({ backend });
    const c = computeGradientStats({ classification: clsInput }).classification!;
    assert.equal(c.fine.bins, 100);
    const nonEmpty = c.fine.counts.flatMap((n, i) => (n > 0 ? [[i, n]] : []));
    assert.deepEqual(nonEmpty, [
      [1, 1],
      [4, 1],
      [11, 1],
      [50, 1],
      [99, 1],
    ]);
    assert.equal(c.ghmc.bins, 30);
    assert.equal(
      c.ghmc.counts.reduce((a, b) => a + b, 0),
      5,
    );
  });

  test(`gradientStats (${backend}): focal-loss norm equals |dFL/dx| from autodiff for both labels`, async () => {
    await setupBackend({ backend });
    const xs = [-2.5, -0.3, 0.7, 3];
    for (const y of [0, 1]) {
      const x = tf.tensor1d(xs);
      // FL = -(1-p_t)^2 ln p_t with p_t = p for y = 1 and 1 - p for y = 0.
      const grad = tf.grad((v: tf.Tensor) => {
        const p = tf.sigmoid(v);
        const pt = y === 1 ? p : tf.sub(1, p);
        return tf.sum(tf.neg(tf.mul(tf.square(tf.sub(1, pt)), tf.log(pt))));
      })(x);
      const expected = Array.from(grad.dataSync()).map(Math.abs);
      tf.dispose([x, grad]);
      for (let i = 0; i < xs.length; i++) {
        const c = computeGradientStats({
          classification: { logits: [[xs[i]!]], labels: [[y]], labelWeights: [1] },
        }).classification!;
        const bin = c.fine.counts.findIndex((n) => n === 1);
        close(c.fine.sumBaselineNorm[bin]!, expected[i]!, 1e-4);
      }
    }
  });

  test(`gradientStats (${backend}): GHM-R regions and smooth-L1 norms match the reference vector`, async () => {
    await setupBackend({ backend });
    const r = computeGradientStats({ regression: regInput }, { ghmrBins: 10, fineBins: 10 }).regression!;
    assert.equal(r.numPositives, 2);
    assert.equal(r.numValid, 6);
    // g_r = [0, 0.447, 0.9992, 0.995, 0.832, 0.9998] -> regions 0, 4, 9, 9, 8, 9.
    assert.deepEqual(r.ghmr.counts, [1, 0, 0, 0, 1, 0, 0, 0, 1, 3]);
    assert.equal(r.ghmr.total, 6);
    const expectW = [1.5, 0, 0, 0, 1.5, 0, 0, 0, 1.5, 0.5]; // spec: w = [1.5, 1.5, 0.5, 0.5, 1.5, 0.5]
    r.ghmr.weights.forEach((w, j) => close(w, expectW[j]!));
    // smooth L1 (beta 0.11) norms min(|d|/0.11, 1): region 9 holds |d| = 0.5, 0.2, 1 -> 3; region 4 holds 0.01.
    close(r.fine.sumBaselineNorm[9]!, 3);
    close(r.fine.sumBaselineNorm[4]!, 0.01 / 0.11);
    close(r.fine.sumBaselineNorm[0]!, 0);
    // Per coordinate: dx holds d = 0, 0.03 (regions 0, 8), dy 0.01, 1 (4, 9), dw 0.5 (9), dh -0.2 (9).
    const oneHot = (...regions: number[]) =>
      Array.from({ length: 10 }, (_, j) => regions.filter((x) => x === j).length);
    const co = r.coordinates!;
    assert.deepEqual(co.counts, [oneHot(0, 8), oneHot(4, 9), oneHot(9), oneHot(9)]);
    close(co.sumNorm[1]![4]!, 0.01 / Math.sqrt(0.01 ** 2 + 0.02 ** 2));
    close(co.sumBaselineNorm[3]![9]!, 1);
    close(co.sumBaselineNorm[0]![8]!, 0.03 / 0.11);
    // the split adds up to the regions of all coordinates
    r.ghmr.counts.forEach((n, j) =>
      assert.equal(
        co.counts.reduce((a, c) => a + c[j]!, 0),
        n,
      ),
    );
  });

  test(`gradientStats (${backend}): degenerate inputs and no leaks`, async () => {
    await setupBackend({ backend });
    const before = tf.memory().numTensors;
    // saturated logits: g = 0 for the positive and g = 1 for the label-0 class, which lands in the last bin
    const inputs = [tf.tensor2d([[30, 30]]), tf.tensor2d([[1, 0]]), tf.tensor1d([1]), tf.zeros([0, 4])];
    const [logits, labels, labelWeights, none] = inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const s = computeGradientStats({
      classification: { logits, labels, labelWeights },
      regression: { bboxPred: none, bboxTargets: none, bboxWeights: none },
    });
    const c = s.classification!;
    assert.equal(c.numValid, 2);
    assert.equal(c.fine.counts[0], 1);
    assert.equal(c.fine.counts[99], 1);
    assert.equal(c.ghmc.counts[29], 1);
    close(c.fine.sumBaselineNorm[99]!, 1); // FL norm at g = 1 is 1^gamma
    // all ignored: nothing counted, N clamps to 1
    const empty = computeGradientStats({
      classification: { logits: [[1, 2]], labels: [[0, 1]], labelWeights: [0] },
    }).classification!;
    assert.equal(empty.numValid, 0);
    assert.equal(empty.ghmc.nonEmpty, 0);
    assert.equal(empty.ghmc.total, 1);
    assert.ok(empty.ghmc.weights.every((w) => w === 0));
    const r = s.regression!;
    assert.equal(r.numValid, 0);
    assert.ok(r.fine.counts.every((n) => n === 0));
    assert.equal(JSON.parse(JSON.stringify(s)).classification.numValid, 2);
    tf.dispose(inputs);
    assert.equal(tf.memory().numTensors, before);
  });
}

test('gradientStats: shape errors name the argument', async () => {
  await setupBackend({ backend: 'cpu' });
  assert.throws(
    () => computeGradientStats({ classification: { logits: [[1, 2]], labels: [[1]], labelWeights: [1] } }),
    /labels: expected shape \[1, 2\], got \[1, 1\]/,
  );
  assert.throws(
    () =>
      computeGradientStats({
        regression: { bboxPred: [[1, 2, 3]], bboxTargets: [[1, 2, 3]], bboxWeights: [[1, 1, 1]] },
      }),
    /bboxPred: expected shape \[\?, 4\], got \[1, 3\]/,
  );
  assert.throws(() => computeGradientStats({}, { fineBins: 0 }), /fineBins: expected an integer >= 1, got 0/);
});

test('gradientStats: accumulating two halves gives the statistics of the whole batch', async () => {
  await setupBackend({ backend: 'cpu' });
  const opts = { ghmcBins: 10, ghmrBins: 10, fineBins: 20 };
  const whole = computeGradientStats({ classification: clsInput, regression: regInput }, opts);
  const acc = new GradientStatsAccumulator(opts)
    .add({
      classification: {
        logits: clsInput.logits.slice(0, 2),
        labels: clsInput.labels.slice(0, 2),
        labelWeights: clsInput.labelWeights.slice(0, 2),
      },
      regression: {
        bboxPred: regInput.bboxPred.slice(0, 1),
        bboxTargets: regInput.bboxTargets.slice(0, 1),
        bboxWeights: regInput.bboxWeights.slice(0, 1),
      },
    })
    .add({
      classification: {
        logits: clsInput.logits.slice(2),
        labels: clsInput.labels.slice(2),
        labelWeights: clsInput.labelWeights.slice(2),
      },
      regression: {
        bboxPred: regInput.bboxPred.slice(1),
        bboxTargets: regInput.bboxTargets.slice(1),
        bboxWeights: regInput.bboxWeights.slice(1),
      },
    });
  const merged = acc.result(12);
  assert.equal(merged.iteration, 12);
  assert.deepEqual(merged.classification!.ghmc, whole.classification!.ghmc);
  assert.deepEqual(merged.classification!.fine.counts, whole.classification!.fine.counts);
  assert.equal(merged.classification!.numAnchors, 6);
  assert.deepEqual(merged.regression!.ghmr, whole.regression!.ghmr);
  assert.deepEqual(merged.regression!.coordinates, whole.regression!.coordinates);
  assert.equal(merged.regression!.numPositives, 2);
  merged.classification!.fine.sumGhmNorm.forEach((v, i) =>
    close(v, whole.classification!.fine.sumGhmNorm[i]!),
  );
  assert.throws(
    () => acc.add({ classification: { logits: [[1, 2]], labels: [[0, 0]], labelWeights: [1] } }),
    /logits: got 2 classes, expected 1 as in the earlier batches/,
  );
});

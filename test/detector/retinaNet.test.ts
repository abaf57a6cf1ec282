import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { ALL_DETECTIONS, RetinaNet } from '../../src/detector/retinaNet.js';
import { COCO_R50_CONFIG, SHAPES_CONFIG, parseRetinaNetConfig } from '../../src/detector/config.js';
import { loadRetinaNet, saveRetinaNet } from '../../src/detector/modelIO.js';
import { nodeFileHandler } from '../../src/detector/nodeFileHandler.js';
import type { ImageGroundTruth } from '../../src/detector/targets.js';
import { iouMatrixXyxy } from '../../src/detector/iou.js';
import { buildLoss } from '../../src/losses/build.js';

/** A tiny detector: 64x64 inputs, P3-P5, 8-channel FPN and head. */
export const TINY = {
  numClasses: 2,
  classNames: ['square', 'bar'],
  backbone: { stemChannels: 4, widths: [8, 8, 16, 16], blocks: [0, 1, 0, 1] },
  neck: { outChannels: 8 },
  head: { stackedConvs: 1, featChannels: 8 },
  preprocess: { img_scale: [64, 64] },
};

/** The tiny detector's pyramid levels (P3-P5). */
const TINY_LEVELS = [0, 1, 2];

/** Losses whose value depends only on the predictions (no EMA state), for the overfitting test. */
const FOCAL_SL1 = {
  loss_cls: { type: 'FocalLoss', gamma: 2, alpha: 0.25, loss_weight: 1 },
  loss_bbox: { type: 'SmoothL1Loss', beta: 0.11, loss_weight: 1 },
};

const CLS_LOSSES = [
  { type: 'CrossEntropyLoss', use_sigmoid: true, loss_weight: 1 },
  { type: 'OHEMLoss', loss_weight: 1 },
  { type: 'FocalLoss', loss_weight: 1 },
  { type: 'GHMC', bins: 30, momentum: 0.75, loss_weight: 1 },
];
const BBOX_LOSSES = [
  { type: 'SmoothL1Loss', beta: 0.11, loss_weight: 1 },
  { type: 'L1Loss', loss_weight: 1 },
  { type: 'ASL1Loss', mu: 0.02, loss_weight: 1 },
  { type: 'GHMR', mu: 0.02, bins: 10, momentum: 0.7, loss_weight: 10 },
];

function tinyBatch(): { images: tf.Tensor4D; gts: ImageGroundTruth[] } {
  // Two 64x64 images: a bright square (class 0) and a bright bar (class 1) on dark noise-free backgrounds.
  const data = new Float32Array(2 * 64 * 64 * 3).fill(-1);
  const paint = (img: number, x1: number, y1: number, x2: number, y2: number): void => {
    for (let y = y1; y < y2; y++)
      for (let x = x1; x < x2; x++) for (let c = 0; c < 3; c++) data[((img * 64 + y) * 64 + x) * 3 + c] = 1.5;
  };
  paint(0, 10, 12, 34, 36);
  paint(1, 30, 8, 42, 56);
  return {
    images: tf.tensor4d(data, [2, 64, 64, 3]),
    gts: [
      { boxesXyxy: Float32Array.from([10, 12, 34, 36]), labels: Int32Array.from([0]) },
      { boxesXyxy: Float32Array.from([30, 8, 42, 56]), labels: Int32Array.from([1]) },
    ],
  };
}

function trainStep(
  model: RetinaNet,
  opt: tf.Optimizer,
  images: tf.Tensor4D,
  gts: ImageGroundTruth[],
): number[] {
  let terms: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const r = model.computeLoss(images, gts);
    terms = [tf.keep(r.terms.loss_cls), tf.keep(r.terms.loss_bbox)];
    return r.loss;
  }, model.variables);
  opt.applyGradients(grads);
  const out = [value.dataSync()[0]!, ...terms.map((t) => t.dataSync()[0]!)];
  tf.dispose([value, ...terms, ...Object.values(grads)]);
  return out;
}

test('presets: the shapes net has 1-1.5 M parameters; the R50 preset builds a ResNet-50-wide net', async () => {
  await setupBackend({ backend: 'cpu' });
  const small = new RetinaNet(SHAPES_CONFIG);
  const n = small.numParameters();
  assert.ok(n > 1.0e6 && n < 1.5e6, `shapes preset has ${n} parameters`);
  assert.deepEqual(small.backbone.outChannels, [32, 64, 128, 128]);
  small.dispose();
  const cfg = parseRetinaNetConfig({}, COCO_R50_CONFIG);
  assert.equal(cfg.neck.numOuts, 5);
  assert.deepEqual(cfg.head.anchor_generator.strides, [8, 16, 32, 64, 128]);
});

test('shapes preset anchors: every object of 12-80 px gets at least one positive anchor', () => {
  const model = new RetinaNet(SHAPES_CONFIG);
  const sizes: [number, number][] = [
    [16, 16],
    [8, 8],
    [4, 4],
  ];
  const gts = [12, 17, 25, 40, 57, 80].flatMap((size) =>
    [3, 37, 61].map((offset) => ({
      boxesXyxy: Float32Array.from([offset, offset + 5, offset + size, offset + 5 + size]),
      labels: Int32Array.from([0]),
    })),
  );
  model.encodeTargets(sizes, gts).forEach((t, i) => assert.ok(t.numPos >= 1, `box ${gts[i]!.boxesXyxy}`));
  model.dispose();
});

test('loss_granularity "level": one GHM-C call per level, in level order, sharing one EMA state', async () => {
  await setupBackend({ backend: 'cpu' });
  const { images, gts } = tinyBatch();
  const model = new RetinaNet(TINY, { seed: 6 });
  const out = model.forward(images, true);
  const targets = model.encodeTargets(out.featureSizes, gts);
  const r = model.head.computeLoss(out, targets);
  // Replay by hand with a fresh GHM-C: level l's rows are [B * A_l, K], ordered (image, anchor).
  const replay = buildLoss(model.config.head.loss_cls);
  const k = TINY.numClasses;
  let start = 0;
  let total = 0;
  for (const logits of out.clsLogits) {
    const n = logits.shape[1];
    const labels = new Float32Array(2 * n * k);
    const weights = new Float32Array(2 * n * k);
    targets.forEach((t, img) => {
      labels.set(t.labels.subarray(start * k, (start + n) * k), img * n * k);
      for (let a = 0; a < n; a++)
        weights.fill(t.labelWeights[start + a]!, (img * n + a) * k, (img * n + a + 1) * k);
    });
    const v = tf.tidy(() =>
      replay.call(
        tf.reshape(logits, [2 * n, k]),
        tf.tensor2d(labels, [2 * n, k]),
        tf.tensor2d(weights, [2 * n, k]),
      ),
    );
    total += v.dataSync()[0]!;
    v.dispose();
    start += n;
  }
  const got = r.terms.loss_cls.dataSync()[0]!;
  assert.ok(Math.abs(got - total) <= 1e-5 * total, `loss_cls ${got}, replayed ${total}`);
  assert.deepEqual(model.getLossStates().loss_cls, replay.getState());
  tf.dispose([r.loss, r.terms.loss_cls, r.terms.loss_bbox, ...out.clsLogits, ...out.bboxDeltas, images]);
  model.dispose();
});

test('config: invalid fields are reported with their path; strides must match the pyramid', () => {
  assert.throws(() => parseRetinaNetConfig({ numClasses: 0 }), /numClasses/);
  assert.throws(
    () => parseRetinaNetConfig({ neck: { numOuts: 4 } }),
    /strides has 3 entries, expected neck.numOuts = 4/,
  );
  assert.throws(() => parseRetinaNetConfig({ head: { loss_cls: { type: 'Nope' } } }), /head.loss_cls.type/);
});

test('forward: per-level outputs [B, H*W*A, K] and [B, H*W*A, 4], prior-probability bias', async () => {
  await setupBackend({ backend: 'cpu' });
  const model = new RetinaNet(TINY);
  const { images } = tinyBatch();
  const out = model.forward(images, false);
  assert.deepEqual(
    out.clsLogits.map((t) => t.shape),
    [
      [2, 8 * 8 * 9, 2],
      [2, 4 * 4 * 9, 2],
      [2, 2 * 2 * 9, 2],
    ],
  );
  assert.deepEqual(
    out.bboxDeltas.map((t) => t.shape),
    [
      [2, 8 * 8 * 9, 4],
      [2, 4 * 4 * 9, 4],
      [2, 2 * 2 * 9, 4],
    ],
  );
  assert.deepEqual(out.featureSizes, [
    [8, 8],
    [4, 4],
    [2, 2],
  ]);
  // Head weights are N(0, 0.01^2): logits stay near the prior bias -log(99) = -4.595.
  const mean = tf.tidy(
    () => tf.mean(tf.concat(out.clsLogits.map((t) => tf.reshape(t, [-1])))).dataSync()[0]!,
  );
  assert.ok(Math.abs(mean + Math.log(99)) < 0.1, `mean logit ${mean}`);
  tf.dispose([...out.clsLogits, ...out.bboxDeltas, images]);
  model.dispose();
});

test('computeLoss: an image without ground truth gives a box loss of exactly 0 (every box loss, both granularities)', async () => {
  await setupBackend({ backend: 'cpu' });
  const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
  for (const loss_granularity of ['level', 'batch'] as const) {
    for (const loss_bbox of BBOX_LOSSES) {
      const m = new RetinaNet({ ...TINY, head: { ...TINY.head, loss_bbox, loss_granularity } });
      const r = m.computeLoss(images, [{ boxesXyxy: new Float32Array(0), labels: new Int32Array(0) }]);
      assert.equal(r.numPos, 0);
      assert.equal(r.terms.loss_bbox.dataSync()[0], 0, `${loss_bbox.type}, ${loss_granularity}`);
      assert.ok(r.terms.loss_cls.dataSync()[0]! > 0);
      tf.dispose([r.loss, r.terms.loss_cls, r.terms.loss_bbox]);
      m.dispose();
    }
  }
  images.dispose();
});

test('computeLoss: "level" and "batch" granularity agree for avgFactor-normalised losses, differ for GHM', async () => {
  await setupBackend({ backend: 'cpu' });
  const { images, gts } = tinyBatch();
  const value = (head: object): number => {
    const m = new RetinaNet({ ...TINY, head: { ...TINY.head, ...head } }, { seed: 4 });
    const r = m.computeLoss(images, gts);
    const v = r.loss.dataSync()[0]!;
    tf.dispose([r.loss, r.terms.loss_cls, r.terms.loss_bbox]);
    m.dispose();
    return v;
  };
  const fl = value({ ...FOCAL_SL1, loss_granularity: 'level' });
  assert.ok(Math.abs(value({ ...FOCAL_SL1, loss_granularity: 'batch' }) - fl) < 1e-4 * fl);
  const ghm = value({ loss_granularity: 'level' });
  assert.ok(Math.abs(value({ loss_granularity: 'batch' }) - ghm) > 1e-3 * ghm);
  images.dispose();
});

test('every classification x regression loss config trains for two steps (wasm)', async () => {
  await setupBackend({ backend: process.env['DET_TEST_BACKEND'] ?? 'wasm' });
  const { images, gts } = tinyBatch();
  for (const loss_cls of CLS_LOSSES) {
    for (const loss_bbox of BBOX_LOSSES) {
      const m = new RetinaNet({ ...TINY, head: { ...TINY.head, loss_cls, loss_bbox } }, { seed: 2 });
      const opt = tf.train.sgd(0.01);
      for (let i = 0; i < 2; i++) {
        const [loss, cls, bbox] = trainStep(m, opt, images, gts);
        const name = `${loss_cls.type} + ${loss_bbox.type}, step ${i}`;
        assert.ok(Number.isFinite(loss) && loss > 0, `${name}: loss ${loss}`);
        assert.ok(Math.abs(loss! - cls! - bbox!) <= 1e-5 * loss!, `${name}: terms do not add up`);
      }
      // GHM losses carry an EMA state, stateless ones null; either way it round-trips through JSON.
      const states = m.getLossStates();
      assert.equal(states.loss_cls === null, loss_cls.type !== 'GHMC');
      assert.equal(states.loss_bbox === null, loss_bbox.type !== 'GHMR');
      const fresh = new RetinaNet({ ...TINY, head: { ...TINY.head, loss_cls, loss_bbox } });
      fresh.setLossStates(JSON.parse(JSON.stringify(states)));
      assert.deepEqual(fresh.getLossStates(), states);
      fresh.dispose();
      opt.dispose();
      m.dispose();
    }
  }
  images.dispose();
});

test('training: overfitting one batch, the loss falls, the best detection of each image is its object, no leaks', async () => {
  await setupBackend({ backend: process.env['DET_TEST_BACKEND'] ?? 'wasm' });
  const model = new RetinaNet({ ...TINY, head: { ...TINY.head, ...FOCAL_SL1 } }, { seed: 1 });
  const { images, gts } = tinyBatch();
  const opt = tf.train.adam(0.01);
  const first = trainStep(model, opt, images, gts);
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 39; i++) last = trainStep(model, opt, images, gts);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked across training steps');
  assert.ok(last[0]! < 0.5 * first[0]!, `loss ${first[0]} -> ${last[0]}`);
  assert.ok(last[2]! < first[2]!, `box loss ${first[2]} -> ${last[2]}`);
  // End to end (BatchNorm on running statistics, decoding, NMS): each image's best detection is its object.
  const preds = model.predict(images);
  preds.forEach((p, i) => {
    assert.ok(p.scores.length > 0, `image ${i}: no detection`);
    assert.equal(p.classIndex[0], gts[i]!.labels[0], `image ${i}: class`);
    const iou = iouMatrixXyxy(p.boxesXyxy.slice(0, 4), gts[i]!.boxesXyxy)[0]!;
    assert.ok(iou > 0.5, `image ${i}: IoU ${iou} of the best detection with the ground truth`);
  });
  // BatchNorm running statistics moved away from their initial (0, 1).
  const rm = model.namedVariables().get('backbone/stem/bn/moving_mean')!;
  assert.ok(tf.tidy(() => tf.sum(tf.abs(rm)).dataSync()[0]!) > 0);
  // detect() leaks nothing either.
  const img = tf.fill([48, 80, 3], 100) as tf.Tensor3D;
  await model.detect(img, ALL_DETECTIONS);
  const beforeDetect = tf.memory().numTensors;
  const dets = await model.detect(img, ALL_DETECTIONS);
  assert.equal(tf.memory().numTensors, beforeDetect, 'tensors leaked by detect()');
  for (const d of dets) {
    assert.ok(
      d.bbox[0] >= 0 &&
        d.bbox[1] >= 0 &&
        d.bbox[0] + d.bbox[2] <= 80 + 1e-3 &&
        d.bbox[1] + d.bbox[3] <= 48 + 1e-3,
    );
    assert.ok(['square', 'bar'].includes(d.class));
  }
  tf.dispose([images, img]);
  opt.dispose();
  model.dispose();
});

test('save -> load gives identical weights and identical detections (TF.js model.json + weights.bin)', async () => {
  await setupBackend({ backend: 'cpu' });
  const cfg = { ...TINY, test_cfg: { score_thr: 0.001, nms_pre: 50, max_per_img: 20 } };
  const model = new RetinaNet(cfg, { seed: 3 });
  const { images, gts } = tinyBatch();
  const opt = tf.train.sgd(0.01);
  trainStep(model, opt, images, gts);
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-model-'));
  try {
    await saveRetinaNet(model, nodeFileHandler(dir));
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'ghmdet-retinanet');
    assert.deepEqual(json.weightsManifest[0].paths, ['./weights.bin']);
    assert.equal(json.userDefinedMetadata.ghmdet.config.numClasses, 2);
    const loaded = await loadRetinaNet(nodeFileHandler(dir));
    for (const [name, v] of model.namedVariables()) {
      assert.deepEqual(loaded.namedVariables().get(name)!.dataSync(), v.dataSync(), name);
    }
    const img = tf.tidy(() => tf.mul(tf.randomUniform([64, 64, 3], 0, 1, 'float32', 5), 255)) as tf.Tensor3D;
    const a = await model.detect(img, ALL_DETECTIONS);
    const b = await loaded.detect(img, ALL_DETECTIONS);
    assert.ok(a.length > 0, 'expected detections at score_thr 0.001');
    assert.deepEqual(b, a);
    // The same files through TF.js's own browser loader (tf.io.http), served from the folder by a fetch stand-in.
    const fetchFunc = async (url: URL | RequestInfo): Promise<Response> =>
      new Response(await readFile(join(dir, basename(String(url)))));
    const viaHttp = await loadRetinaNet(
      tf.io.http('https://models.example/shapes/model.json', { fetchFunc }),
    );
    assert.deepEqual(await viaHttp.detect(img, ALL_DETECTIONS), a);
    viaHttp.dispose();
    // coco-ssd's forms: positional (maxNumBoxes, minScore), honoured; the options object gives the same.
    const minScore = a[Math.floor(a.length / 2)]!.score;
    const expected = a.filter((d) => d.score >= minScore).slice(0, 3);
    assert.ok(expected.length > 0 && expected.length <= 3);
    assert.deepEqual(await loaded.detect(img, 3, minScore), expected);
    assert.deepEqual(await loaded.detect(img, { maxNumBoxes: 3, minScore }), expected);
    assert.deepEqual(await loaded.detect(img, 2, 0), a.slice(0, 2));
    // The defaults are coco-ssd's: at most 20 boxes scoring at least 0.5.
    assert.deepEqual(await loaded.detect(img), a.filter((d) => d.score >= 0.5).slice(0, 20));
    await assert.rejects(loaded.detect(img, -1), /`maxNumBoxes` must be an integer >= 0 or Infinity, got -1/);
    await assert.rejects(loaded.detect(img, 5, 1.5), /`minScore` must be a number in \[0, 1\], got 1.5/);
    // ImageData-like RGBA pixels (4 values per pixel, no `channels`) give what the RGB tensor gives.
    const rgb = img.dataSync();
    const rgba = new Uint8ClampedArray(64 * 64 * 4);
    for (let p = 0; p < 64 * 64; p++) {
      for (let c = 0; c < 3; c++) rgba[4 * p + c] = rgb[3 * p + c]!;
      rgba[4 * p + 3] = 255;
    }
    const asBytes = tf.tensor3d(Uint8Array.from(rgba.filter((_, i) => i % 4 !== 3)), [64, 64, 3], 'int32');
    assert.deepEqual(
      await loaded.detect({ data: rgba, width: 64, height: 64 }, ALL_DETECTIONS),
      await loaded.detect(asBytes, ALL_DETECTIONS),
    );
    asBytes.dispose();
    assert.throws(
      () => loaded.detectSync({} as unknown as tf.Tensor3D),
      /without pixel data; outside a browser pass a \[H, W, 3\] tensor/,
    );
    img.dispose();
    loaded.dispose();
    // A config that disagrees with the weights is refused, naming the weight and both shapes.
    json.userDefinedMetadata.ghmdet.config.numClasses = 3;
    json.userDefinedMetadata.ghmdet.config.classNames = ['a', 'b', 'c'];
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    const tensorsBefore = tf.memory().numTensors;
    await assert.rejects(
      loadRetinaNet(nodeFileHandler(dir)),
      /weight "head\/retina_cls\/kernel" has shape \[3,3,8,18\], expected \[3,3,8,27\]/,
    );
    assert.equal(tf.memory().numTensors, tensorsBefore, 'a failed load leaks nothing');
  } finally {
    await rm(dir, { recursive: true, force: true });
    images.dispose();
    opt.dispose();
    model.dispose();
  }
});

test('head norm "BN": shared conv weights, BatchNorm per pyramid level; training moves each level its own way; save -> load keeps detections', async () => {
  await setupBackend({ backend: 'cpu' });
  const cfg = {
    ...TINY,
    head: { ...TINY.head, ...FOCAL_SL1, norm: 'BN' },
    test_cfg: { score_thr: 0.001, nms_pre: 50, max_per_img: 20 },
  };
  const model = new RetinaNet(cfg, { seed: 2 });
  const vars = model.namedVariables();
  assert.ok(vars.has('head/cls_convs0/kernel') && vars.has('head/reg_convs0/kernel'));
  assert.ok(!vars.has('head/cls_convs0/bias'), 'a conv followed by BN has no bias');
  const levels = TINY_LEVELS.map((l) => `head/cls_convs0/bn_level${l}/moving_mean`);
  for (const name of levels) assert.ok(vars.has(name), name);
  assert.ok(!vars.has(`head/cls_convs0/bn_level${TINY_LEVELS.length}/moving_mean`));

  const { images, gts } = tinyBatch();
  const opt = tf.train.sgd(0.01);
  trainStep(model, opt, images, gts);
  const tensorsAfterFirstStep = tf.memory().numTensors;
  trainStep(model, opt, images, gts);
  assert.equal(tf.memory().numTensors, tensorsAfterFirstStep, 'tensors leaked by a step with head BN');
  const means = levels.map((n) => Array.from(vars.get(n)!.dataSync()));
  for (const m of means)
    assert.ok(
      m.some((v) => v !== 0),
      'a level statistic did not move',
    );
  assert.notDeepEqual(means[0], means[1], 'levels 0 and 1 share their statistics');
  // Inference uses the running statistics and leaves them alone.
  const first = model.predict(images);
  assert.deepEqual(Array.from(vars.get(levels[0]!)!.dataSync()), means[0]);
  assert.deepEqual(
    model.predict(images).map((p) => Array.from(p.scores)),
    first.map((p) => Array.from(p.scores)),
  );

  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-headbn-'));
  try {
    await saveRetinaNet(model, nodeFileHandler(dir));
    const loaded = await loadRetinaNet(nodeFileHandler(dir));
    assert.equal(loaded.config.head.norm, 'BN');
    const img = tf.tidy(() => tf.mul(tf.randomUniform([64, 64, 3], 0, 1, 'float32', 7), 255)) as tf.Tensor3D;
    const a = await model.detect(img, ALL_DETECTIONS);
    assert.ok(a.length > 0);
    assert.deepEqual(await loaded.detect(img, ALL_DETECTIONS), a);
    img.dispose();
    loaded.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.throws(() => parseRetinaNetConfig({ head: { norm: 'GN' } }), /head\.norm/);
  tf.dispose(images);
  opt.dispose();
  model.dispose();
});

test('model files: Node paths and file:// URLs load; a LayersModel or a GraphModel model.json is named as such', async () => {
  await setupBackend({ backend: 'cpu' });
  const { loadRetinaNet: loadNode, saveRetinaNet: saveNode } =
    await import('../../src/detector/nodeModelIO.js');
  const model = new RetinaNet({ ...TINY, test_cfg: { score_thr: 0.001, nms_pre: 50, max_per_img: 20 } });
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-paths-'));
  const img = tf.tidy(() => tf.mul(tf.randomUniform([64, 64, 3], 0, 1, 'float32', 9), 255)) as tf.Tensor3D;
  try {
    await saveNode(model, dir);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.userDefinedMetadata.ghmdet.format, 'TF.js weights manifest + ghmdet config');
    assert.equal(json.userDefinedMetadata.ghmdet.formatVersion, 1);
    assert.equal(json.modelTopology, null);
    const expected = await model.detect(img, ALL_DETECTIONS);
    for (const source of [dir, join(dir, 'model.json'), pathToFileURL(join(dir, 'model.json')).href]) {
      const loaded = await loadNode(source);
      assert.deepEqual(await loaded.detect(img, ALL_DETECTIONS), expected, source);
      loaded.dispose();
    }
    // The browser-safe loader does not read local files and says where to get one that does.
    await assert.rejects(
      loadRetinaNet(join(dir, 'model.json')),
      /no TF.js IO handler for .*import loadRetinaNet from 'ghmdet\/node'/,
    );
    // A tf.layers model's files are named for what they are.
    const layers = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    const layersDir = join(dir, 'layers');
    await layers.save(nodeFileHandler(layersDir));
    layers.dispose();
    await assert.rejects(
      loadNode(layersDir),
      /cannot be loaded: it is a TF.js LayersModel \(Sequential\), not a ghmdet detector; open it with tf.loadLayersModel/,
    );
    await writeFile(
      join(dir, 'graph.json'),
      JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }),
    );
    await assert.rejects(loadNode(join(dir, 'graph.json')), /it is a TF.js GraphModel/);
    // A later format version is refused with its number.
    json.userDefinedMetadata.ghmdet.formatVersion = 2;
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await assert.rejects(loadNode(dir), /formatVersion 2, expected 1; was it saved by another version/);
  } finally {
    await rm(dir, { recursive: true, force: true });
    img.dispose();
    model.dispose();
  }
});

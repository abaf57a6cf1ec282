/**
 * The RetinaNet options imported PyTorch models select (src/detector/config.ts), each on its own: norm_eval /
 * frozen BatchNorm / frozen_stages, GroupNorm heads, torchvision's anchor generator, box coder and resize rule,
 * to_rgb. The parity tests (test/parity/) check them together against PyTorch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import {
  anchorsPerLocation,
  generateAnchors,
  torchvisionBaseAnchorsXyxy,
} from '../../src/detector/anchors.js';
import { decodeBoxes, MAX_LOG_RATIO } from '../../src/detector/boxCoder.js';
import { COCO_R50_CONFIG, parseRetinaNetConfig } from '../../src/detector/config.js';
import { prepareImage, resizedSize } from '../../src/detector/imageInput.js';
import { GroupNorm } from '../../src/detector/layers.js';
import { ParamStore } from '../../src/detector/params.js';
import { RetinaNet } from '../../src/detector/retinaNet.js';

const TV_ANCHORS = {
  type: 'torchvision' as const,
  sizes: [[32, 40, 50]],
  ratios: [0.5, 1, 2],
  strides: [8],
};

test("torchvision anchors: sizes x ratios in float32, rounded half to even, ratio-major like torchvision's", () => {
  assert.equal(anchorsPerLocation(TV_ANCHORS), 9);
  // torchvision.models.detection.anchor_utils.AnchorGenerator(((32, 40, 50),), ((0.5, 1.0, 2.0),)).cell_anchors
  assert.deepEqual(
    Array.from(torchvisionBaseAnchorsXyxy([32, 40, 50], [0.5, 1, 2])),
    [
      [-23, -11, 23, 11],
      [-28, -14, 28, 14],
      [-35, -18, 35, 18],
      [-16, -16, 16, 16],
      [-20, -20, 20, 20],
      [-25, -25, 25, 25],
      [-11, -23, 11, 23],
      [-14, -28, 14, 28],
      [-18, -35, 18, 35],
    ].flat(),
  );
  // 12.5 rounds to 12 (torch.round), where Math.round would give 13.
  assert.deepEqual(Array.from(torchvisionBaseAnchorsXyxy([25], [1])), [-12, -12, 12, 12]);
});

test('torchvision anchors: strides are the padded input size // feature size (an 800x1216 input: P7 114 x 121)', () => {
  const opts = { type: 'torchvision' as const, sizes: [[256], [512]], ratios: [1], strides: [64, 128] };
  const [p6, p7] = generateAnchors(
    [
      [13, 19],
      [7, 10],
    ],
    opts,
    [800, 1216],
  );
  // Cell (y 1, x 1): P6 shifted by (64, 61) = (1216 // 19, 800 // 13), P7 by (121, 114).
  assert.deepEqual(Array.from(p6!.anchorsXyxy.subarray(4 * 20, 4 * 21)), [-64, -67, 192, 189]);
  assert.deepEqual(Array.from(p7!.anchorsXyxy.subarray(4 * 11, 4 * 12)), [-135, -142, 377, 370]);
  // mmdetection's generator on the same maps keeps the nominal strides.
  const mm = generateAnchors([[7, 10]], {
    octave_base_scale: 4,
    scales_per_octave: 1,
    ratios: [1],
    strides: [128],
  });
  // A 512 px square (scale 4 x stride 128) at (128, 128).
  assert.deepEqual(Array.from(mm[0]!.anchorsXyxy.subarray(4 * 11, 4 * 12)), [-128, -128, 384, 384]);
});

test("torchvision box coder: dw/dh clamped from above only; mmdetection's clamps both ways", () => {
  const anchor = Float32Array.from([0, 0, 100, 100]);
  const deltas = Float32Array.from([0, 0, 10, -10]);
  const means: [number, number, number, number] = [0, 0, 0, 0];
  const stds: [number, number, number, number] = [1, 1, 1, 1];
  const mm = decodeBoxes(anchor, deltas, { target_means: means, target_stds: stds });
  const tv = decodeBoxes(anchor, deltas, { type: 'torchvision', target_means: means, target_stds: stds });
  const w = 100 * Math.exp(MAX_LOG_RATIO);
  assert.ok(Math.abs(mm[2]! - mm[0]! - w) < 1e-2 && Math.abs(tv[2]! - tv[0]! - w) < 1e-2);
  assert.ok(Math.abs(mm[3]! - mm[1]! - 100 * Math.exp(-MAX_LOG_RATIO)) < 1e-4);
  assert.ok(Math.abs(tv[3]! - tv[1]! - 100 * Math.exp(-10)) < 1e-6);
});

/** A small net with a ResNet-style stem (7x7/2 + max-pool) and bottleneck stages, as imported models have. */
const SMALL_IMPORTED = {
  numClasses: 3,
  backbone: {
    stemChannels: 4,
    stemKernel: 7,
    stemPool: true,
    block: 'bottleneck',
    widths: [2, 2, 4, 4],
    blocks: [1, 1, 1, 1],
    downsample: 'block',
  },
  neck: { outChannels: 8, numOuts: 5, addExtraConvs: 'on_output', reluBeforeExtraConvs: true },
  head: {
    stackedConvs: 1,
    featChannels: 8,
    anchor_generator: {
      octave_base_scale: 4,
      scales_per_octave: 1,
      ratios: [1],
      strides: [8, 16, 32, 64, 128],
    },
  },
  preprocess: { img_scale: [64, 64] },
};

test('norm_eval: BatchNorm uses and keeps its running statistics in training; normRequiresGrad false freezes gamma/beta', async () => {
  await setupBackend({ backend: 'cpu' });
  const model = new RetinaNet(
    { ...SMALL_IMPORTED, backbone: { ...SMALL_IMPORTED.backbone, norm_eval: true, normRequiresGrad: false } },
    { seed: 5 },
  );
  const trainable = new Set(model.namedTrainableVariables().map((v) => v.name));
  assert.ok(
    !trainable.has('backbone/stem/bn/gamma') && !trainable.has('backbone/stage2/block0/conv1/bn/beta'),
  );
  assert.ok(trainable.has('backbone/stem/conv/kernel'));
  const mean = model.namedVariables().get('backbone/stem/bn/moving_mean')!;
  mean.assign(tf.fill([4], 0.3));
  const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const inTraining = model.forward(x, true);
  const inference = model.forward(x, false);
  assert.deepEqual(inTraining.clsLogits[0]!.dataSync(), inference.clsLogits[0]!.dataSync());
  assert.deepEqual(Array.from(mean.dataSync()), [0.3, 0.3, 0.3, 0.3].map(Math.fround));
  tf.dispose([
    x,
    ...inTraining.clsLogits,
    ...inTraining.bboxDeltas,
    ...inference.clsLogits,
    ...inference.bboxDeltas,
  ]);
  model.dispose();
});

test('frozen_stages 1: the stem and stage 1 do not train (weights nor statistics); stage 2 does', async () => {
  await setupBackend({ backend: 'cpu' });
  const model = new RetinaNet(
    {
      ...SMALL_IMPORTED,
      backbone: { ...SMALL_IMPORTED.backbone, frozen_stages: 1 },
      head: {
        ...SMALL_IMPORTED.head,
        loss_cls: { type: 'FocalLoss', loss_weight: 1 },
        loss_bbox: { type: 'L1Loss', loss_weight: 1 },
      },
    },
    { seed: 6 },
  );
  const trainable = new Set(model.namedTrainableVariables().map((v) => v.name));
  for (const name of model.namedVariables().keys()) {
    const frozen = name.startsWith('backbone/stem/') || name.startsWith('backbone/stage1/');
    if (frozen) assert.ok(!trainable.has(name), `${name} should be frozen`);
  }
  assert.ok(trainable.has('backbone/stage2/block0/conv2/conv/kernel'));
  assert.ok(trainable.has('backbone/stage2/block0/conv2/bn/gamma'));
  const snapshot = (name: string) => Array.from(model.namedVariables().get(name)!.dataSync());
  const watched = ['backbone/stem/conv/kernel', 'backbone/stage1/block0/conv1/bn/moving_mean'];
  const before = watched.map(snapshot);
  const stage2Mean = snapshot('backbone/stage2/block0/conv1/bn/moving_mean');
  const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const gts = [0, 1].map(() => ({
    boxesXyxy: Float32Array.from([8, 8, 40, 40]),
    labels: Int32Array.from([1]),
  }));
  const opt = tf.train.sgd(0.1);
  const loss = opt.minimize(() => model.computeLoss(x, gts).loss, true, model.variables);
  assert.deepEqual(watched.map(snapshot), before);
  assert.notDeepEqual(snapshot('backbone/stage2/block0/conv1/bn/moving_mean'), stage2Mean);
  tf.dispose([x, loss!]);
  opt.dispose();
  model.dispose();
});

test("GroupNorm: PyTorch's grouping of consecutive channels, biased variance, eps 1e-5", async () => {
  await setupBackend({ backend: 'cpu' });
  const params = new ParamStore(1);
  const gn = new GroupNorm(params, 'gn', 4, 2);
  gn.gamma.assign(tf.tensor1d([1, 2, 1, 1]));
  gn.beta.assign(tf.tensor1d([0, 0, 0, 0.5]));
  // One pixel, channels [1, 3 | 10, 30]: group means 2 and 20, variances 1 and 100.
  const y = gn.apply(tf.tensor4d([1, 3, 10, 30], [1, 1, 1, 4]));
  const e1 = 1 / Math.sqrt(1 + 1e-5);
  const e2 = 10 / Math.sqrt(100 + 1e-5);
  const expected = [-e1, 2 * e1, -e2, e2 + 0.5];
  y.dataSync().forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `channel ${i}: ${v}`));
  y.dispose();
  params.dispose();
});

test("head norm 'GN': shared GroupNorm per stacked conv, convs without bias; num_groups required", async () => {
  await setupBackend({ backend: 'cpu' });
  assert.throws(
    () => parseRetinaNetConfig({ head: { norm: 'GN' } }),
    /head\.norm 'GN' needs head\.num_groups dividing head\.featChannels 64, got none/,
  );
  const model = new RetinaNet({
    ...SMALL_IMPORTED,
    head: { ...SMALL_IMPORTED.head, norm: 'GN', num_groups: 4 },
  });
  const names = [...model.namedVariables().keys()].filter((n) => n.startsWith('head/'));
  assert.ok(names.includes('head/cls_convs0/gn/gamma') && names.includes('head/reg_convs0/gn/beta'));
  assert.ok(!names.includes('head/cls_convs0/bias'));
  assert.ok(!names.some((n) => n.includes('bn_level')));
  model.dispose();
});

test("torchvision's resize rule vs mmdetection's on a 480x640 image at (1333, 800)", () => {
  const base = { img_scale: [1333, 800] as [number, number], keep_ratio: true, size_divisor: 32 };
  const mm = parseRetinaNetConfig({ preprocess: base }).preprocess;
  const tv = parseRetinaNetConfig({ preprocess: { ...base, type: 'torchvision' } }).preprocess;
  // mmcv: factor 800 / 480, sides rounded: 800 x 1067. torchvision: float32 scale 1.6666667461, sides floored.
  assert.deepEqual(resizedSize(480, 640, mm), [800, 1067]);
  assert.deepEqual(resizedSize(480, 640, tv), [800, 1066]);
  // min_size binds on the short side, max_size on the long one: 500 x 2000 -> scale 1333 / 2000.
  assert.deepEqual(resizedSize(500, 2000, tv), [333, 1333]);
  assert.throws(
    () => parseRetinaNetConfig({ preprocess: { ...base, type: 'torchvision', keep_ratio: false } }),
    /torchvision' resizes with keep_ratio/,
  );
});

test('to_rgb false hands the network BGR, normalised with the BGR mean/std', async () => {
  await setupBackend({ backend: 'cpu' });
  const pre = parseRetinaNetConfig({
    preprocess: { img_scale: [32, 32], mean: [1, 2, 3], std: [1, 1, 1], to_rgb: false },
  }).preprocess;
  const { input } = prepareImage({ data: Uint8Array.from([10, 20, 30]), width: 1, height: 1 }, pre);
  // RGB (10, 20, 30) -> BGR (30, 20, 10) - (1, 2, 3).
  assert.deepEqual(Array.from(input.dataSync().subarray(0, 3)), [29, 18, 7]);
  input.dispose();
});

test('anchor_generator of another type replaces the base one whole; sizes must cover every level', () => {
  const cfg = parseRetinaNetConfig(
    {
      head: {
        anchor_generator: {
          type: 'torchvision',
          sizes: [[32], [64], [128], [256], [512]],
          ratios: [1],
          strides: [8, 16, 32, 64, 128],
        },
      },
    },
    COCO_R50_CONFIG,
  );
  assert.deepEqual(Object.keys(cfg.head.anchor_generator).sort(), ['ratios', 'sizes', 'strides', 'type']);
  assert.throws(
    () =>
      parseRetinaNetConfig(
        {
          head: {
            anchor_generator: {
              type: 'torchvision',
              sizes: [[32]],
              ratios: [1],
              strides: [8, 16, 32, 64, 128],
            },
          },
        },
        COCO_R50_CONFIG,
      ),
    /anchor_generator\.sizes has 1 levels, expected one per stride \(5\)/,
  );
  // A partial mmdetection override still merges into the base generator.
  const merged = parseRetinaNetConfig(
    { head: { anchor_generator: { octave_base_scale: 3 } } },
    COCO_R50_CONFIG,
  );
  assert.equal(merged.head.anchor_generator.type, undefined);
  assert.deepEqual(merged.head.anchor_generator.strides, [8, 16, 32, 64, 128]);
});

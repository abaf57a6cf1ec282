import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { ResNetBackbone } from '../../src/detector/backbone.js';
import { Fpn } from '../../src/detector/fpn.js';
import { ParamStore } from '../../src/detector/params.js';
import { COCO_R50_CONFIG, SHAPES_CONFIG, parseRetinaNetConfig } from '../../src/detector/config.js';

/** ResNet-style bottleneck net (7x7 stem, max-pool, strided first blocks) at toy widths. */
const BOTTLENECK = {
  ...COCO_R50_CONFIG.backbone,
  stemChannels: 4,
  widths: [2, 4, 4, 8],
  blocks: [1, 2, 1, 1],
};

test('backbone: C2..C5 at strides 4..32 for both down-sampling styles; bottleneck outputs 4x the width', async () => {
  await setupBackend({ backend: 'cpu' });
  const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const smallParams = new ParamStore(0);
  const small = new ResNetBackbone(smallParams, {
    ...SHAPES_CONFIG.backbone,
    stemChannels: 4,
    widths: [4, 4, 8, 8],
  });
  const params = new ParamStore(0);
  const bottleneck = new ResNetBackbone(params, BOTTLENECK);
  assert.deepEqual(bottleneck.outChannels, [8, 16, 16, 32]);
  for (const [net, channels] of [
    [small, [4, 4, 8, 8]],
    [bottleneck, [8, 16, 16, 32]],
  ] as const) {
    for (const training of [true, false]) {
      const outs = net.apply(x, training);
      assert.deepEqual(
        outs.map((t) => t.shape),
        [16, 8, 4, 2].map((s, i) => [2, s, s, channels[i]]),
      );
      tf.dispose(outs);
    }
  }
  // Projection shortcuts only where the shape changes: stage 2's second block has none.
  assert.ok(params.trainable.has('backbone/stage2/block0/shortcut/conv/kernel'));
  assert.ok(!params.trainable.has('backbone/stage2/block1/shortcut/conv/kernel'));
  assert.deepEqual(params.trainable.get('backbone/stem/conv/kernel')!.shape, [7, 7, 3, 4]);
  x.dispose();
  params.dispose();
  smallParams.dispose();
});

test('FPN: P3-P7 with extra levels from C5 (on_input) or P5 (on_output); P3-P5 without extras', async () => {
  await setupBackend({ backend: 'cpu' });
  const inC = [8, 16, 16, 32];
  const feats = [16, 8, 4, 2].map((s, i) =>
    tf.randomNormal([1, s, s, inC[i]!], 0, 1, 'float32', i),
  ) as tf.Tensor4D[];
  for (const addExtraConvs of ['on_input', 'on_output'] as const) {
    const params = new ParamStore(0);
    const fpn = new Fpn(
      params,
      { ...COCO_R50_CONFIG.neck, outChannels: 6, addExtraConvs, reluBeforeExtraConvs: true },
      inC,
    );
    const outs = fpn.apply(feats);
    assert.deepEqual(
      outs.map((t) => t.shape),
      [8, 4, 2, 1, 1].map((s) => [1, s, s, 6]),
    );
    assert.equal(params.trainable.get('neck/extra0/kernel')!.shape[2], addExtraConvs === 'on_input' ? 32 : 6);
    tf.dispose(outs);
    params.dispose();
  }
  const params = new ParamStore(0);
  const three = new Fpn(params, { ...SHAPES_CONFIG.neck, outChannels: 6 }, inC).apply(feats);
  assert.deepEqual(
    three.map((t) => t.shape),
    [8, 4, 2].map((s) => [1, s, s, 6]),
  );
  assert.throws(
    () => new Fpn(new ParamStore(0), { ...SHAPES_CONFIG.neck, numOuts: 2 }, inC),
    /numOuts = 2, expected at least 3/,
  );
  tf.dispose([...three, ...feats]);
  params.dispose();
});

test('backbone: fewer stages stop early (C2..C4) and feed an FPN of P3-P4; mismatched configs are refused', async () => {
  await setupBackend({ backend: 'cpu' });
  const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const params = new ParamStore(0);
  const cfg = { ...SHAPES_CONFIG.backbone, stemChannels: 4, widths: [4, 6, 8], blocks: [1, 1, 1] };
  const net = new ResNetBackbone(params, cfg);
  assert.deepEqual(net.strides, [4, 8, 16]);
  assert.deepEqual(net.outChannels, [4, 6, 8]);
  assert.ok(!params.trainable.has('backbone/stage4/down/conv/kernel'));
  const feats = net.apply(x, true);
  assert.deepEqual(
    feats.map((t) => t.shape),
    [16, 8, 4].map((s, i) => [1, s, s, cfg.widths[i]]),
  );
  const outs = new Fpn(params, { ...SHAPES_CONFIG.neck, outChannels: 5, numOuts: 2 }, net.outChannels).apply(
    feats,
  );
  assert.deepEqual(
    outs.map((t) => t.shape),
    [8, 4].map((s) => [1, s, s, 5]),
  );
  assert.throws(
    () => new ResNetBackbone(new ParamStore(0), { ...cfg, blocks: [1, 1, 1, 1] }),
    /backbone\.blocks has 4 entries, expected one per stage of backbone\.widths \(3\)/,
  );
  assert.throws(
    () => parseRetinaNetConfig({ backbone: { widths: [8, 8], blocks: [1, 1] }, neck: { startLevel: 2 } }),
    /neck\.startLevel = 2, expected less than the 2 backbone stages/,
  );
  assert.throws(
    () => parseRetinaNetConfig({ backbone: { widths: [8, 8, 8] } }),
    /backbone\.blocks has 4 entries, expected one per stage of backbone\.widths \(3\)/,
  );
  tf.dispose([x, ...feats, ...outs]);
  params.dispose();
});

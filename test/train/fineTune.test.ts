/**
 * Fine-tuning an imported model (`model.init_from`, `ghmdet train --init`): the narrow torchvision RetinaNet of
 * the parity fixture (91-class COCO numbering there, 5 classes) trained a few iterations on a tiny shapes set
 * (4 classes): everything but the class output loads, the frozen stages stay as imported, the loss on a fixed
 * batch falls, and data-parallel replicas start from the same imported weights.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadConfigFile, type GhmdetConfig } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { initFromModelDir } from '../../src/detector/initFrom.js';
import type { RetinaNet } from '../../src/detector/retinaNet.js';
import { bindCategories, buildModel, loadData, trainDetector } from '../../src/train/detectorRun.js';
import { DetectorBatches } from '../../src/train/detectorBatches.js';
import { tinyShapesData } from './tinyDetector.js';

const IMPORTED = join('test', 'fixtures', 'parity', 'torchvision_retinanet_v1', 'model');
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-finetune-'));
  await setupBackend({ backend: 'wasm' });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A config file that fine-tunes the imported model: its architecture, 4 classes, 64-pixel inputs. */
async function fineTuneConfig(iters: number, workers = 1): Promise<GhmdetConfig> {
  const file = join(dir, `finetune-${workers}.json`);
  await writeFile(
    file,
    JSON.stringify({
      model: { init_from: IMPORTED, numClasses: 4, preprocess: { img_scale: [64, 64] } },
      data: { ...tinyShapesData(join(dir, 'shapes'), 4), flip_ratio: 0 },
      train: {
        max_iters: iters,
        workers,
        optimizer: { lr: 0.01 },
        lr_config: { warmup: null, step: [iters], by_epoch: false },
      },
    }),
  );
  return loadConfigFile(file);
}

async function lossOnFixedBatch(model: RetinaNet, config: GhmdetConfig): Promise<number> {
  const { train } = await loadData(config.data);
  const batch = await DetectorBatches.forTraining(train, {
    batchSize: 4,
    flipRatio: 0,
    seed: 11,
    preprocess: config.model.preprocess,
  }).next();
  const loss = tf.tidy(() => model.computeLoss(batch.data.images, batch.data.gts).loss.dataSync()[0]!);
  batch.dispose();
  return loss;
}

test('fine-tuning an imported torchvision RetinaNet on shapes: class head re-initialised, frozen stages kept, loss falls', async () => {
  const config = await fineTuneConfig(12);
  // The imported architecture, with the file's overrides.
  assert.equal(config.model.init_from, IMPORTED);
  assert.equal(config.model.numClasses, 4);
  assert.equal(config.model.backbone.frozen_stages, 1);
  assert.equal(config.model.head.anchor_generator.type, 'torchvision');

  const data = await loadData(config.data);
  const start = buildModel(bindCategories(config, data.train));
  const init = await initFromModelDir(start, IMPORTED);
  assert.deepEqual(
    init.skipped.map((s) => s.name),
    ['head/retina_cls/kernel', 'head/retina_cls/bias'],
  );
  assert.match(init.skipped[0]!.reason, /^shape \[3,3,16,45\] there, \[3,3,16,36\] here$/);
  const before = await lossOnFixedBatch(start, config);

  const lines: string[] = [];
  const r = await trainDetector(config, {
    runDir: join(dir, 'run'),
    progress: false,
    log: (l) => lines.push(l),
  });
  try {
    assert.ok(
      lines.some((l) =>
        /^init from .*: loaded \d+ tensors, skipped 2: head\/retina_cls\/kernel \(shape/.test(l),
      ),
      lines.join('\n'),
    );
    // frozen_stages 1 (torchvision's trainable_backbone_layers=3): the stem and stage 1 are the imported ones;
    // stage 2 trains.
    const value = (m: RetinaNet, name: string) => Array.from(m.namedVariables().get(name)!.dataSync());
    for (const name of ['backbone/stem/conv/kernel', 'backbone/stage1/block0/conv2/conv/kernel'])
      assert.deepEqual(value(r.model, name), value(start, name), name);
    const stage2 = 'backbone/stage2/block0/conv2/conv/kernel';
    assert.notDeepEqual(value(r.model, stage2), value(start, stage2));
    const after = await lossOnFixedBatch(r.model, config);
    assert.ok(after < 0.8 * before, `loss on a fixed batch: ${before} before fine-tuning, ${after} after`);
  } finally {
    r.model.dispose();
    start.dispose();
  }
});

test('fine-tuning on two data-parallel replicas: the worker replica starts from the imported weights too', async () => {
  const config = await fineTuneConfig(2, 2);
  // trainDetector checks after training that every replica holds replica 0's weights bit for bit.
  const r = await trainDetector(config, { runDir: join(dir, 'run-dp'), progress: false, log: () => {} });
  r.model.dispose();
});

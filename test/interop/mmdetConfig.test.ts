/**
 * `mmdetConfigText`: the mmdetection v2 config written for a ghmdet config reads back (its dict literals parsed)
 * to the same model, losses with their GHM parameters, data, pipeline and schedule; what mmdetection cannot
 * express is refused; where Python is installed the file is also evaluated by Python's `ast`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../src/config.js';
import { mmdetConfigText } from '../../src/interop/mmdetConfig.js';
import { parsePythonConfig, type PyValue } from './pythonConfig.js';

type Obj = Record<string, PyValue>;
const obj = (v: PyValue | undefined): Obj => v as Obj;

test('export to mmdetection: configs/coco_r50_ghm_1x.json reads back field for field', async () => {
  const config = await loadConfigFile('configs/coco_r50_ghm_1x.json');
  const { text, notes } = mmdetConfigText(config, { gpus: 8, source: 'coco_r50_ghm_1x.json' });
  const env = parsePythonConfig(text);
  const m = config.model;

  const model = obj(env['model']);
  assert.equal(model['type'], 'RetinaNet');
  const backbone = obj(model['backbone']);
  assert.equal(backbone['depth'], 50);
  assert.equal(backbone['style'], 'pytorch');
  assert.deepEqual(backbone['out_indices'], [0, 1, 2, 3]);
  assert.equal(backbone['frozen_stages'], m.backbone.frozen_stages ?? -1);
  assert.deepEqual(obj(backbone['norm_cfg']), { type: 'BN', requires_grad: true });
  const neck = obj(model['neck']);
  assert.deepEqual(neck, {
    type: 'FPN',
    in_channels: [256, 512, 1024, 2048],
    out_channels: m.neck.outChannels,
    start_level: m.neck.startLevel,
    add_extra_convs: m.neck.addExtraConvs,
    relu_before_extra_convs: m.neck.reluBeforeExtraConvs,
    num_outs: m.neck.numOuts,
  });
  const head = obj(model['bbox_head']);
  assert.equal(head['num_classes'], 80);
  assert.equal(head['stacked_convs'], m.head.stackedConvs);
  assert.equal(head['feat_channels'], m.head.featChannels);
  // The losses with their GHM parameters, exactly.
  assert.deepEqual(head['loss_cls'], m.head.loss_cls);
  assert.deepEqual(head['loss_bbox'], m.head.loss_bbox);
  assert.deepEqual(obj(head['loss_cls'])['bins'], 30);
  assert.deepEqual(obj(head['loss_bbox'])['mu'], 0.02);
  assert.deepEqual(head['anchor_generator'], { type: 'AnchorGenerator', ...m.head.anchor_generator });
  assert.deepEqual(head['bbox_coder'], { type: 'DeltaXYWHBBoxCoder', ...m.head.bbox_coder });
  assert.deepEqual(obj(obj(model['train_cfg'])['assigner']), { type: 'MaxIoUAssigner', ...m.head.assigner });
  const testCfg = obj(model['test_cfg']);
  assert.deepEqual(
    {
      nms_pre: testCfg['nms_pre'],
      score_thr: testCfg['score_thr'],
      nms_iou: obj(testCfg['nms'])['iou_threshold'],
      max_per_img: testCfg['max_per_img'],
    },
    m.test_cfg,
  );

  // Data: files, batch over the GPUs, the pipeline's resize / flip / normalisation / padding.
  assert.equal(env['dataset_type'], 'CocoDataset');
  const data = obj(env['data']);
  assert.equal((data['samples_per_gpu'] as number) * 8, config.data.batch_size);
  assert.equal(obj(data['train'])['ann_file'], 'data/coco/annotations/instances_train2017.json');
  assert.equal(obj(data['train'])['img_prefix'], 'data/coco/train2017/');
  assert.equal(obj(data['val'])['ann_file'], 'data/coco/annotations/instances_val2017.json');
  assert.deepEqual(obj(data['train'])['pipeline'], env['train_pipeline']);
  const steps = env['train_pipeline'] as Obj[];
  assert.deepEqual(steps.find((s) => s['type'] === 'Resize')!['img_scale'], m.preprocess.img_scale);
  assert.equal(steps.find((s) => s['type'] === 'RandomFlip')!['flip_ratio'], config.data.flip_ratio);
  assert.deepEqual(obj(env['img_norm_cfg']), {
    mean: m.preprocess.mean,
    std: m.preprocess.std,
    to_rgb: true,
  });
  assert.equal(steps.find((s) => s['type'] === 'Pad')!['size_divisor'], m.preprocess.size_divisor);
  const testAug = (env['test_pipeline'] as Obj[])[1]!;
  assert.deepEqual(testAug['img_scale'], m.preprocess.img_scale);

  // Schedule.
  const t = config.train;
  assert.deepEqual(obj(env['optimizer']), {
    type: 'SGD',
    lr: t.optimizer.lr,
    momentum: t.optimizer.momentum,
    weight_decay: t.optimizer.weight_decay,
  });
  assert.deepEqual(obj(obj(env['optimizer_config'])['grad_clip']), t.grad_clip);
  const lr = obj(env['lr_config']);
  assert.deepEqual(lr['step'], t.lr_config.step);
  assert.equal(lr['warmup_iters'], t.lr_config.warmup_iters);
  assert.equal(lr['warmup_ratio'], t.lr_config.warmup_ratio);
  assert.deepEqual(obj(env['runner']), { type: 'EpochBasedRunner', max_epochs: t.total_epochs! });
  // The COCO preset initialises as mmdetection does: nothing to note.
  assert.deepEqual(notes, []);
  assert.doesNotMatch(text, /^# Note:/m);
});

test('export to mmdetection: iteration schedules, shapes data and GroupNorm heads; what has no equivalent is refused', () => {
  const config = parseConfig({
    model: {
      preset: 'coco_r50',
      numClasses: 4,
      backbone: { norm_eval: true, frozen_stages: 1 },
      head: { norm: 'GN', num_groups: 32 },
    },
    data: { type: 'shapes', root: 'data/shapes', batch_size: 8 },
    train: { max_iters: 9000, lr_config: { step: [6000, 8000], by_epoch: false }, checkpoint_interval: 1000 },
    eval: { interval: 3000 },
  });
  const { text, notes } = mmdetConfigText(config, { gpus: 4 });
  assert.deepEqual(notes, []);
  const env = parsePythonConfig(text);
  assert.deepEqual(obj(env['runner']), { type: 'IterBasedRunner', max_iters: 9000 });
  assert.deepEqual(obj(env['lr_config'])['by_epoch'], false);
  assert.deepEqual(obj(env['checkpoint_config']), {
    interval: 1000,
    by_epoch: false,
    max_keep_ckpts: config.train.keep_checkpoints,
  });
  assert.deepEqual(obj(env['evaluation']), { interval: 3000, by_epoch: false, metric: 'bbox' });
  const train = obj(obj(env['data'])['train']);
  assert.deepEqual(train['classes'], ['circle', 'square', 'triangle', 'cross']);
  assert.equal(train['ann_file'], 'data/shapes/annotations/instances_train.json');
  assert.equal(obj(env['data'])['samples_per_gpu'], 2);
  const model = obj(env['model']);
  assert.equal(obj(model['backbone'])['norm_eval'], true);
  assert.deepEqual(obj(obj(model['bbox_head'])['norm_cfg']), {
    type: 'GN',
    num_groups: 32,
    requires_grad: true,
  });

  const pytorchInit = parseConfig({
    model: { preset: 'coco_r50', neck: { init: 'pytorch' } },
    train: { max_iters: 10 },
  });
  const noted = mmdetConfigText(pytorchInit);
  assert.ok(noted.notes.some((n) => /neck\.init 'pytorch'/.test(n)));
  assert.match(noted.text, /^# Note: backbone\.init \/ neck\.init 'pytorch'/m);
  assert.throws(
    () => mmdetConfigText(parseConfig({ train: { max_iters: 10 } })),
    /the backbone \(basic blocks \[1,1,1,1\], widths \[32,64,128,128\], downsample 'conv'.*not one of mmdetection's ResNets/,
  );
  const withOhem = parseConfig({
    model: { preset: 'coco_r50', head: { loss_cls: { type: 'OHEMLoss', loss_weight: 1 } } },
    train: { max_iters: 10 },
  });
  assert.throws(
    () => mmdetConfigText(withOhem),
    /head\.loss_cls type OHEMLoss is not an mmdetection v2 loss/,
  );
  assert.throws(
    () =>
      mmdetConfigText(
        parseConfig({ model: { preset: 'coco_r50' }, data: { batch_size: 6 }, train: { max_iters: 1 } }),
        { gpus: 4 },
      ),
    /batch_size 6 does not split over 4 GPUs/,
  );
});

test('export to mmdetection: the file is Python that evaluates to the same values (where python3 is installed)', async (t) => {
  const probe = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    t.diagnostic('NOT RUN: python3 is not installed; the TypeScript reading above still ran');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-mmdet-'));
  try {
    const file = join(dir, 'retinanet_ghm.py');
    const { text } = mmdetConfigText(await loadConfigFile('configs/coco_r50_ghm_1x.json'), { gpus: 8 });
    await writeFile(file, text);
    const r = spawnSync('python3', ['-m', 'ghmdet_import.config_text', file], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: 'tools' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), parsePythonConfig(await readFile(file, 'utf8')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

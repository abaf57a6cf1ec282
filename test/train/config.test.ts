import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iterationSchedule, parseConfig } from '../../src/config.js';
import { SHAPES_CONFIG } from '../../src/detector/config.js';

test('parseConfig: defaults fill every section; the resolved config parses to itself', () => {
  const c = parseConfig({ train: { max_iters: 10 } });
  assert.deepEqual(c.model, SHAPES_CONFIG);
  assert.equal(c.data.type, 'shapes');
  assert.equal(c.data.batch_size, 8);
  assert.equal(c.train.workers, 1);
  assert.deepEqual(c.train.grad_clip, { max_norm: 35, norm_type: 2 });
  assert.equal(c.train.optimizer.lr, 0.01);
  assert.equal(c.train.lr_config.warmup_ratio, 1 / 3);
  assert.equal(c.eval.interval, 0);
  assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(c))), c);
});

test('parseConfig: model overrides merge over the preset', () => {
  const c = parseConfig({
    model: { preset: 'shapes', head: { loss_cls: { type: 'FocalLoss', gamma: 2, alpha: 0.25 } } },
    train: { total_epochs: 2 },
  });
  assert.deepEqual(c.model.head.loss_cls, { type: 'FocalLoss', gamma: 2, alpha: 0.25 });
  assert.equal(c.model.head.loss_bbox.type, 'GHMR');
});

test('parseConfig: errors list every bad field by its path', () => {
  assert.throws(
    () =>
      parseConfig(
        {
          train: { max_iters: 10, optimizer: { lr: -1 }, lr_config: { step: [5, 'x'] } },
          data: { bogus: 1 },
        },
        'my.json',
      ),
    (err: Error) => {
      assert.match(err.message, /^my\.json: invalid config/);
      assert.match(err.message, /train\.optimizer\.lr: /);
      assert.match(err.message, /train\.lr_config\.step\[1\]: /);
      assert.match(err.message, /data: Unrecognized key: "bogus"/);
      return true;
    },
  );
  assert.throws(
    () => parseConfig({ train: {} }),
    /train\.max_iters: give exactly one of total_epochs and max_iters/,
  );
  assert.throws(
    () => parseConfig({ train: { max_iters: 1, lr_config: { step: [3, 2] } } }),
    /strictly ascending/,
  );
  assert.throws(
    () => parseConfig({ model: { numClasses: 0 }, train: { max_iters: 1 } }),
    /model: .*numClasses/,
  );
  assert.throws(
    () => parseConfig({ data: { type: 'coco' }, train: { max_iters: 1 } }),
    /data\.train and data\.val/,
  );
  assert.throws(
    () => parseConfig({ data: { batch_size: 6 }, train: { max_iters: 1, workers: 4 } }, 'w.json'),
    /^Error: w\.json: data\.batch_size 6 must be a multiple of train\.workers 4/,
  );
  assert.throws(() => parseConfig({ train: { max_iters: 1, workers: 0 } }), /train\.workers: /);
});

test('iterationSchedule: epochs become iterations; warm-up off when warmup is null', () => {
  const c = parseConfig({ train: { total_epochs: 12, lr_config: { step: [8, 11], warmup_iters: 50 } } });
  assert.deepEqual(iterationSchedule(c.train, 25), { maxIters: 300, steps: [200, 275], warmupIters: 50 });
  const d = parseConfig({
    train: { max_iters: 100, lr_config: { step: [60], by_epoch: false, warmup: null } },
  });
  assert.deepEqual(iterationSchedule(d.train, 7), { maxIters: 100, steps: [60], warmupIters: 0 });
  assert.throws(() => iterationSchedule(d.train, 0), /batchesPerEpoch must be >= 1/);
});

test('configs/: every shipped config parses and its losses build', async () => {
  const { readdir } = await import('node:fs/promises');
  const { loadConfigFile } = await import('../../src/config.js');
  const { buildLoss } = await import('../../src/losses/index.js');
  const files = (await readdir('configs')).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 7, `configs/ has ${files.length} files`);
  const pairs = new Set<string>();
  for (const f of files) {
    const c = await loadConfigFile(`configs/${f}`);
    buildLoss(c.model.head.loss_cls);
    buildLoss(c.model.head.loss_bbox);
    pairs.add(`${c.model.head.loss_cls.type}+${c.model.head.loss_bbox.type}`);
  }
  for (const p of [
    'CrossEntropyLoss+SmoothL1Loss',
    'OHEMLoss+SmoothL1Loss',
    'FocalLoss+SmoothL1Loss',
    'GHMC+SmoothL1Loss',
    'GHMC+ASL1Loss',
    'GHMC+GHMR',
  ])
    assert.ok(pairs.has(p), `a config trains ${p}`);
});

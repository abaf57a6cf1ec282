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
      assert.match(err.message, /data\.bogus: unknown key; known keys: type, root, shapes/);
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
    /model\.numClasses: /,
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

test('parseConfig: every section is strict; unknown keys are errors with the full path and a suggestion', () => {
  const bad = (section: Record<string, unknown>) => () =>
    parseConfig({ train: { max_iters: 1 }, ...section });
  assert.throws(
    bad({ model: { head: { stacked_convs: 4 } } }),
    /model\.head\.stacked_convs: unknown key; did you mean `stackedConvs`\?/,
  );
  assert.throws(
    bad({ model: { num_classes: 3 } }),
    /model\.num_classes: unknown key; did you mean `numClasses`\?/,
  );
  assert.throws(
    bad({ model: { head: { foo: 1 } } }),
    /model\.head\.foo: unknown key; known keys: stackedConvs/,
  );
  assert.throws(
    bad({ model: { backbone: { depth: 50 } } }),
    /model\.backbone\.depth: unknown key; known keys: /,
  );
  assert.throws(
    bad({ model: { head: { anchor_generator: { octave_base_scales: 4 } } } }),
    /model\.head\.anchor_generator\.octave_base_scales: unknown key; did you mean `octave_base_scale`\?/,
  );
  assert.throws(bad({ model: { test_cfg: { nms_thr: 0.5 } } }), /model\.test_cfg\.nms_thr: unknown key/);
  assert.throws(
    bad({ data: { shapes: { trian: 8 } } }),
    /data\.shapes\.trian: unknown key; did you mean `train`\?/,
  );
  assert.throws(
    bad({ data: { shapes: { noise: { lable: 0.1 } } } }),
    /data\.shapes\.noise\.lable: .*`label`/,
  );
  assert.throws(
    bad({ data: { shapes: { train: -1 } } }),
    /data\.shapes: .*train must be an integer >= 0, got -1/,
  );
  assert.throws(
    bad({ train: { max_iters: 1, optimiser: {} } }),
    /train\.optimiser: unknown key; did you mean `optimizer`\?/,
  );
  assert.throws(
    bad({ evaluation: {} }),
    /evaluation: unknown key; known keys: description, model, data, train, eval/,
  );
});

test('parseConfig: loss parameters are validated when the config is parsed', () => {
  const loss = (head: Record<string, unknown>) => () =>
    parseConfig({ model: { head }, train: { max_iters: 1 } }, 'c.json');
  assert.throws(
    loss({ loss_cls: { type: 'GHMC', bins: 0 } }),
    /c\.json: invalid config:\n {2}model\.head\.loss_cls\.bins: .*got 0/,
  );
  assert.throws(
    loss({ loss_cls: { type: 'GHMC', momentum: 1.5 } }),
    /model\.head\.loss_cls\.momentum: .*got 1\.5/,
  );
  assert.throws(
    loss({ loss_bbox: { type: 'GHMR', loss_weight: -10 } }),
    /model\.head\.loss_bbox\.loss_weight: .*>=0.*got -10/,
  );
  assert.throws(
    loss({ loss_cls: { type: 'GHMC', bin: 30 } }),
    /model\.head\.loss_cls\.bin: unknown key; did you mean `bins`\?/,
  );
  assert.throws(loss({ loss_cls: { type: 'GHMR' } }), /model\.head\.loss_cls\.type: /);
  // zero is allowed: it switches a term off
  assert.equal(
    parseConfig({ model: { head: { loss_bbox: { type: 'GHMR', loss_weight: 0 } } }, train: { max_iters: 1 } })
      .model.head.loss_bbox.loss_weight,
    0,
  );
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

/**
 * `train.grad_stats_interval`: a tiny detector run writes `analysis/grad_stats_iter_NNNNNN.json` every K
 * iterations, `readRunFolder` reads them back, and collecting them leaves the training itself untouched
 * (same checkpoint, bitwise, as the same run without statistics).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunFolder } from '../../src/analysis/runFiles.js';
import { parseConfig } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { trainDetector } from '../../src/train/detectorRun.js';
import { TINY_MODEL, tinyShapesData } from './tinyDetector.js';

let dir = '';

function tinyConfig(gradStatsInterval: number) {
  return parseConfig({
    model: TINY_MODEL,
    data: tinyShapesData(join(dir, 'shapes'), 2),
    train: {
      max_iters: 4,
      optimizer: { lr: 0.01 },
      lr_config: { warmup_iters: 2, step: [3], by_epoch: false },
      log_interval: 1,
      grad_stats_interval: gradStatsInterval,
    },
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-gradstats-'));
  await setupBackend({});
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('grad_stats_interval defaults to 0 (off)', () => {
  const c = parseConfig({ train: { max_iters: 1 } });
  assert.equal(c.train.grad_stats_interval, 0);
});

test('grad_stats_interval 2: statistics at iterations 2 and 4, read back; training unchanged', async () => {
  const session = async (name: string, interval: number) => {
    const runDir = join(dir, name);
    const r = await trainDetector(tinyConfig(interval), { runDir, progress: false, log: () => {} });
    r.model.dispose();
    return runDir;
  };
  const withStats = await session('with', 2);
  const without = await session('without', 0);

  assert.deepEqual(await readdir(join(withStats, 'analysis')), [
    'grad_stats_iter_000002.json',
    'grad_stats_iter_000004.json',
  ]);
  const folder = await readRunFolder(withStats);
  assert.deepEqual(
    folder.gradStats.map((s) => s.iteration),
    [2, 4],
  );
  assert.deepEqual((await readRunFolder(without)).gradStats, []);

  const a = (await loadCheckpoint(withStats))!;
  const b = (await loadCheckpoint(without))!;
  assert.equal(a.iteration, 4);
  assert.deepEqual(a.weights, b.weights);
  assert.deepEqual(a.modelState, b.modelState);
  assert.deepEqual(a.loaderState, b.loaderState);
  assert.deepEqual(a.optimizer, b.optimizer);
});

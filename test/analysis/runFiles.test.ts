import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { setupBackend } from '../../src/engine/backend.js';
import {
  gradStatsFileName,
  readRunFolder,
  parseRunLog,
  readGradientStats,
  writeGradientStats,
} from '../../src/analysis/runFiles.js';
import { smallStats, tempDir, writeRun } from './fixtures.js';

test('runFiles: statistics file names sort by iteration', () => {
  assert.equal(gradStatsFileName(500), 'grad_stats_iter_000500.json');
  assert.equal(gradStatsFileName(1234567), 'grad_stats_iter_1234567.json');
  assert.throws(() => gradStatsFileName(-1), /iteration must be an integer >= 0, got -1/);
});

test('runFiles: parseRunLog splits train and val records and skips a torn line', () => {
  const text = [
    JSON.stringify({
      mode: 'train',
      iter: 10,
      epoch: 1,
      lr: 0.01,
      loss: 1.2,
      loss_cls: 0.7,
      loss_bbox: 0.5,
      images_per_s: 2,
    }),
    JSON.stringify({ mode: 'val', iter: 10, epoch: 1, bbox_mAP: 0.25, bbox_mAP_50: 0.5 }),
    '{"mode": "train", "iter": 20, "lo',
  ].join('\n');
  const log = parseRunLog(text);
  assert.deepEqual(log.train, [
    {
      iter: 10,
      lr: 0.01,
      imagesPerSecond: 2,
      time: null,
      losses: { loss: 1.2, loss_cls: 0.7, loss_bbox: 0.5 },
    },
  ]);
  assert.deepEqual(log.val, [{ iter: 10, metrics: { bbox_mAP: 0.25, bbox_mAP_50: 0.5 } }]);
});

test('runFiles: statistics round-trip through the run folder; bad files and folders are named', async () => {
  await setupBackend({ backend: 'cpu' });
  const dir = await tempDir('runfiles');
  try {
    const s = smallStats(40);
    const path = await writeGradientStats(dir, s);
    assert.equal(path, join(dir, 'analysis', 'grad_stats_iter_000040.json'));
    await writeGradientStats(dir, smallStats(7, 1));
    const back = await readGradientStats(dir);
    assert.deepEqual(
      back.map((b) => b.iteration),
      [7, 40],
    );
    assert.deepEqual(back[1], s);
    await assert.rejects(writeGradientStats(dir, { ...s, iteration: null }), /stats.iteration is null/);

    await assert.rejects(readRunFolder(join(dir, 'nothing')), /not a run folder: expected config.json/);
    const run = await readRunFolder(
      await writeRun(join(dir, 'run-a'), { iters: 40, evalIters: [40], finalEval: true }),
    );
    assert.equal(run.name, 'run-a');
    assert.equal(run.log.train.length, 4);
    assert.equal(run.log.val.length, 1);
    assert.deepEqual(
      run.gradStats.map((g) => g.iteration),
      [20, 100],
    );
    assert.equal((run.config!['loss_cls'] as { type: string }).type, 'GHMC');
    assert.equal(run.finalEval!.iter, 40);
    assert.equal(run.finalEval!.metrics['AP@.50|all|100'], 0.5);
    await fs.writeFile(
      join(dir, 'run-a', 'eval.json'),
      JSON.stringify({ iter: 1, stats: [1], statsNames: [] }),
    );
    await assert.rejects(readRunFolder(join(dir, 'run-a')), /eval.json: expected \{iter, stats/);

    await fs.writeFile(join(dir, 'analysis', 'grad_stats_iter_000050.json'), JSON.stringify({ version: 1 }));
    await assert.rejects(
      readGradientStats(dir),
      /grad_stats_iter_000050.json: not a GradientStats v1 object: iteration/,
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

/**
 * Data-parallel detector training (src/train/dataParallelTraining.ts) on a tiny RetinaNet, 2 replicas (the
 * test's thread and one worker): replicas stay bit-identical, `train.workers: 2` makes `trainDetector` write a run
 * folder with a checkpoint, and with stateless losses an interrupted + resumed 2-replica run ends with the same
 * weights as an uninterrupted one (GHM's EMA states are per replica and resume from replica 0's, so a GHM run
 * resumes replica 0's state only).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, trainerUpdate } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { startDataParallelTraining } from '../../src/train/dataParallelTraining.js';
import { DetectorBatches } from '../../src/train/detectorBatches.js';
import {
  bindCategories,
  buildModel,
  loadData,
  replicasFor,
  trainDetector,
} from '../../src/train/detectorRun.js';
import { detectorTrainable } from '../../src/train/detectorTrainable.js';
import { train } from '../../src/train/trainer.js';
import { TINY_MODEL, tinyShapesData } from './tinyDetector.js';

let dir = '';

function tinyConfig(head: Record<string, unknown> = {}, workers = 1) {
  return parseConfig({
    model: { ...TINY_MODEL, head: { ...TINY_MODEL.head, ...head } },
    data: tinyShapesData(join(dir, 'shapes'), 4),
    train: {
      workers,
      max_iters: 3,
      optimizer: { lr: 0.01 },
      lr_config: { warmup_iters: 2, step: [2], by_epoch: false },
      log_interval: 1,
    },
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-dp-'));
  await setupBackend({ backend: 'wasm' });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Trains with 2 replicas in `runDir`; returns replica 0's and replica 1's weights at the end. */
async function session(
  config: ReturnType<typeof tinyConfig>,
  runDir: string,
  opts: { stopAtIter?: number; resume?: boolean },
) {
  const data = await loadData(config.data);
  const bound = bindCategories(config, data.train);
  const model = buildModel(bound);
  const source = DetectorBatches.forTraining(data.train, {
    batchSize: bound.data.batch_size,
    seed: 1,
    preprocess: bound.model.preprocess,
  });
  const rule = trainerUpdate(bound.train, source.batchesPerEpoch);
  const parallel = await startDataParallelTraining(
    model,
    { config: bound, batchesPerEpoch: source.batchesPerEpoch, resumeFrom: opts.resume ? runDir : null },
    2,
  );
  try {
    await train(detectorTrainable(model), source, {
      runDir,
      ...rule,
      gradients: parallel.gradients,
      progress: false,
      message: () => {},
      ...opts,
    });
    return { replica0: await parallel.readWeights(0), replica1: await parallel.readWeights(1) };
  } finally {
    await parallel.close();
    model.dispose();
  }
}

test('2 replicas: weights bit-identical after every session; resume equals uninterrupted (stateless losses)', async () => {
  const config = tinyConfig({
    loss_cls: { type: 'FocalLoss', use_sigmoid: true, gamma: 2, alpha: 0.25, loss_weight: 1 },
    loss_bbox: { type: 'SmoothL1Loss', beta: 0.11, loss_weight: 1 },
  });
  const full = await session(config, join(dir, 'full'), {});
  assert.deepEqual(full.replica1, full.replica0);
  const first = await session(config, join(dir, 'split'), { stopAtIter: 2 });
  assert.deepEqual(first.replica1, first.replica0);
  assert.equal((await loadCheckpoint(join(dir, 'split')))!.iteration, 2);
  const resumed = await session(config, join(dir, 'split'), { resume: true });
  assert.deepEqual(resumed.replica1, resumed.replica0);
  assert.deepEqual(resumed.replica0, full.replica0);
});

test('trainDetector with train.workers 2 (GHM-C + GHM-R) writes a run folder with a checkpoint', async () => {
  const runDir = join(dir, 'run');
  const lines: string[] = [];
  const r = await trainDetector(tinyConfig({}, 2), { runDir, progress: false, log: (l) => lines.push(l) });
  r.model.dispose();
  assert.ok(
    lines.some((l) => l.includes('data-parallel training on 2 replicas (2 images each)')),
    lines.join('\n'),
  );
  const saved = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as {
    train: { workers: number };
  };
  assert.equal(saved.train.workers, 2);
  assert.equal(r.train.iteration, 3);
  assert.ok(Number.isFinite(r.train.lastLoss));
  const files = await readdir(runDir);
  for (const f of ['config.json', 'log.jsonl', 'checkpoint.json', 'eval.json'])
    assert.ok(files.includes(f), f);
  assert.equal((await loadCheckpoint(runDir))!.iteration, 3);
});

test('replicasFor: the requested replicas on wasm and cpu, one on tensorflow with a note', () => {
  assert.deepEqual(replicasFor(2, 'wasm'), { workers: 2, note: null });
  assert.deepEqual(replicasFor(4, 'cpu'), { workers: 4, note: null });
  assert.deepEqual(replicasFor(1, 'tensorflow'), { workers: 1, note: null });
  const r = replicasFor(2, 'tensorflow');
  assert.equal(r.workers, 1);
  assert.match(r.note ?? '', /^train\.workers 2: training on one replica, since the tensorflow backend/);
});

test('trainDetector rejects a batch that does not split over the replicas', async () => {
  await assert.rejects(
    trainDetector(tinyConfig(), { runDir: join(dir, 'odd'), workers: 3, progress: false, log: () => {} }),
    /batch_size 4 cannot be split over 3 replicas/,
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '../../src/utils/random.js';
import { NonFiniteLossError, restoreWeights, train, type TrainerOptions } from '../../src/train/trainer.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { localGradients } from '../../src/train/gradients.js';
import { SgdMomentum } from '../../src/train/optimizer.js';
import { RunLog } from '../../src/train/runLog.js';
import { ToyModel, ToySource, type ToyBatch } from './toy.js';

function options(runDir: string, extra: Partial<TrainerOptions<ToyBatch>> = {}): TrainerOptions<ToyBatch> {
  return {
    runDir,
    maxIters: 12,
    schedule: { baseLr: 0.05, warmupIters: 3, steps: [8] },
    optimizer: { momentum: 0.9, weightDecay: 1e-3 },
    gradClipMaxNorm: 5,
    logInterval: 2,
    progress: false,
    message: () => {},
    ...extra,
  };
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-train-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('train: loss falls on the toy problem; log, config and checkpoint are written', async () => {
  await tf.setBackend('cpu');
  await withDir(async (dir) => {
    const model = new ToyModel(1);
    const evals: number[] = [];
    const result = await train(model, new ToySource(2), {
      ...options(dir, { maxIters: 40, evalInterval: 20, logInterval: 5, config: { name: 'toy' } }),
      evaluate: async ({ iter }) => {
        evals.push(iter);
        return { bbox_mAP: iter / 100 };
      },
    });
    assert.equal(result.iteration, 40);
    assert.equal(result.stopped, false);
    const records = await new RunLog(join(dir, 'log.jsonl')).read();
    const trainRecs = records.filter((r) => r.mode === 'train');
    assert.deepEqual(
      trainRecs.map((r) => r.iter),
      [5, 10, 15, 20, 25, 30, 35, 40],
    );
    const first = trainRecs[0]!;
    for (const k of ['epoch', 'lr', 'loss', 'loss_mse', 'loss_l1', 'grad_norm', 'images_per_s', 'time'])
      assert.equal(typeof first[k], 'number', `log field ${k}`);
    assert.ok((trainRecs.at(-1)!.loss as number) < (first.loss as number) / 4, 'loss falls');
    assert.equal(trainRecs.at(-1)!.epoch, 7, '40 batches of 5 per epoch end in epoch index 7');
    assert.deepEqual(evals, [20, 40]);
    assert.deepEqual(
      records.filter((r) => r.mode === 'val').map((r) => [r.iter, r['bbox_mAP']]),
      [
        [20, 0.2],
        [40, 0.4],
      ],
    );
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), { name: 'toy' });
    const ckpt = await loadCheckpoint(dir);
    assert.equal(ckpt!.iteration, 40);
    assert.deepEqual(
      ckpt!.weights.map((w) => Array.from(w.values)),
      model.weights().map((w) => Array.from(w)),
    );
    assert.deepEqual(ckpt!.modelState, { ema: model.ema });
    await assert.rejects(
      train(new ToyModel(1), new ToySource(2), options(dir)),
      /already holds a checkpoint/,
    );
    model.dispose();
  });
});

test('train: interrupted and resumed ends with bitwise the same weights as an uninterrupted run', async () => {
  await tf.setBackend('cpu');
  const full = await withDir(async (dir) => {
    const model = new ToyModel(3);
    const random = new Random(9);
    await train(model, new ToySource(4), options(dir, { random }));
    const w = model.weights();
    model.dispose();
    return { w, random: random.getState(), log: await new RunLog(join(dir, 'log.jsonl')).read() };
  });
  const resumed = await withDir(async (dir) => {
    const a = new ToyModel(3);
    const r = await train(
      a,
      new ToySource(4),
      options(dir, { stopAtIter: 5, checkpointInterval: 4, random: new Random(9) }),
    );
    assert.equal(r.stopped, true);
    assert.equal(r.iteration, 5);
    a.dispose();
    // A fresh process: different initial weights, source seed and random state, all overwritten by the checkpoint.
    const b = new ToyModel(77);
    const random = new Random(1234);
    const r2 = await train(b, new ToySource(55), options(dir, { resume: true, random }));
    assert.equal(r2.iteration, 12);
    const w = b.weights();
    b.dispose();
    return { w, random: random.getState(), log: await new RunLog(join(dir, 'log.jsonl')).read() };
  });
  assert.deepEqual(
    resumed.w.map((x) => Array.from(x)),
    full.w.map((x) => Array.from(x)),
  );
  assert.equal(resumed.random, full.random);
  // The interruption adds a record at iteration 5 (and the window after it is shorter); the per-step fields agree.
  const strip = (recs: typeof full.log) =>
    recs.filter((r) => r.iter % 2 === 0).map((r) => [r.iter, r.grad_norm, r.lr]);
  assert.deepEqual(strip(resumed.log), strip(full.log), 'the resumed log continues the same records');
  assert.deepEqual(
    resumed.log.map((r) => r.iter),
    [2, 4, 5, 6, 8, 10, 12],
  );
});

test('train: a non-finite loss stops the run with the iteration and terms, keeping the last checkpoint', async () => {
  await tf.setBackend('cpu');
  await withDir(async (dir) => {
    const model = new ToyModel(5);
    model.nanAtCall = 7;
    const err = await train(model, new ToySource(6), options(dir, { checkpointInterval: 3 })).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof NonFiniteLossError, String(err));
    assert.equal(err.iteration, 7);
    assert.equal(err.lastCheckpoint, 6);
    assert.match(
      err.message,
      /non-finite loss at iteration 7: loss=NaN \(loss_mse=[-\d.e]+, loss_l1=[-\d.e]+\)/,
    );
    assert.equal((await loadCheckpoint(dir))!.iteration, 6);
    model.dispose();
  });
});

test('train step: gradients + optimizer step leave tf.memory().numTensors unchanged', async () => {
  await tf.setBackend('cpu');
  const model = new ToyModel(8);
  const source = new ToySource(8);
  const grads = localGradients(model);
  const opt = new SgdMomentum(model.variables);
  const step = async () => {
    const batch = source.next();
    const s = await grads(batch);
    batch.dispose();
    opt.step(s.grads, 0.01, 0.5);
    tf.dispose(s.grads);
    return s;
  };
  await step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const s = await step();
    assert.deepEqual(Object.keys(s.terms), ['loss_mse', 'loss_l1']);
    assert.ok(Math.abs(s.loss - s.terms['loss_mse']! - s.terms['loss_l1']!) < 1e-5);
  }
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  model.dispose();
});

test('train: an abort finishes the step, saves a checkpoint and resumes to the same weights', async () => {
  await tf.setBackend('cpu');
  const full = await withDir(async (dir) => {
    const model = new ToyModel(11);
    await train(model, new ToySource(12), options(dir));
    const w = model.weights();
    model.dispose();
    return w;
  });
  await withDir(async (dir) => {
    const controller = new AbortController();
    const model = new ToyModel(11);
    const r = await train(model, new ToySource(12), {
      ...options(dir, { signal: controller.signal, logInterval: 1 }),
      message: () => {},
      evalInterval: 3,
      evaluate: async ({ iter }) => {
        if (iter === 3) controller.abort();
        return { bbox_mAP: 0 };
      },
    });
    model.dispose();
    assert.deepEqual([r.iteration, r.stopped], [3, true]);
    assert.equal((await loadCheckpoint(dir))!.iteration, 3);
    const b = new ToyModel(99);
    await train(b, new ToySource(98), options(dir, { resume: true }));
    assert.deepEqual(
      b.weights().map((x) => Array.from(x)),
      full.map((x) => Array.from(x)),
    );
    b.dispose();
  });
});

test('restoreWeights: a checkpoint of another model is rejected, naming the tensor', async () => {
  await tf.setBackend('cpu');
  const model = new ToyModel(13);
  const good = model.weights();
  assert.throws(
    () => restoreWeights(model, [{ name: 'linear.weight', shape: [4, 1], values: good[0]! }]),
    /no tensor "linear\.bias"/,
  );
  assert.throws(
    () =>
      restoreWeights(model, [
        { name: 'linear.weight', shape: [2, 2], values: good[0]! },
        { name: 'linear.bias', shape: [1], values: good[1]! },
        { name: 'norm.running_mean', shape: [4], values: good[2]! },
      ]),
    /linear\.weight has shape \[2,2\] in the checkpoint, expected \[4,1\]/,
  );
  model.dispose();
});

test('train: a run folder is held by one training at a time; a lock of a dead process is taken over', async () => {
  await tf.setBackend('cpu');
  await withDir(async (dir) => {
    const a = new ToyModel(1);
    const b = new ToyModel(1);
    // Two trainings started together into one folder: the second is refused, naming the holder.
    const results = await Promise.allSettled([
      train(a, new ToySource(2), options(dir, { maxIters: 4 })),
      train(b, new ToySource(2), options(dir, { maxIters: 4 })),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected'],
    );
    const err = (results[1] as PromiseRejectedResult).reason as Error;
    assert.match(
      err.message,
      new RegExp(`run folder ${dir} is in use by process ${process.pid} on this host`),
    );
    const log = await new RunLog(join(dir, 'log.jsonl')).read();
    assert.deepEqual(
      log.map((r) => r.iter),
      [2, 4],
      'one writer: every record once',
    );
    assert.equal(existsSync(join(dir, 'train.lock')), false, 'the lock is released');
    // A lock left by a killed process (its pid no longer runs) is taken over, saying so.
    await writeFile(
      join(dir, 'train.lock'),
      JSON.stringify({ pid: 999999999, host: hostname(), command: 'ghmdet train', startedAt: 'x' }),
    );
    const said: string[] = [];
    const r = await train(b, new ToySource(2), {
      ...options(dir, { maxIters: 6, resume: true }),
      message: (l) => said.push(l),
    });
    assert.equal(r.iteration, 6);
    assert.ok(
      said.some((l) => /took over .*train\.lock from process 999999999 .*no longer runs/.test(l)),
      said.join('\n'),
    );
    a.dispose();
    b.dispose();
  });
});

test('train: a resume from a damaged last checkpoint falls back to the newest intact one, saying so, and ends bitwise equal', async () => {
  await tf.setBackend('cpu');
  const full = await withDir(async (dir) => {
    const model = new ToyModel(3);
    await train(model, new ToySource(4), options(dir));
    const w = model.weights();
    model.dispose();
    return w;
  });
  await withDir(async (dir) => {
    const a = new ToyModel(3);
    await train(
      a,
      new ToySource(4),
      options(dir, { stopAtIter: 8, checkpointInterval: 4, keepCheckpoints: 2 }),
    );
    a.dispose();
    const bin = join(dir, 'ckpt-00000008.bin');
    const bytes = await readFile(bin);
    bytes[0] = bytes[0]! ^ 1; // same size, one bit
    await writeFile(bin, bytes);
    // An orphan temp file of a checkpoint write killed by kill -9.
    const orphan = join(dir, '.ckpt-00000009.bin.999999999.1.tmp');
    await writeFile(orphan, 'partial');
    const said: string[] = [];
    const b = new ToyModel(77);
    const r = await train(b, new ToySource(55), {
      ...options(dir, { resume: true }),
      message: (l) => said.push(l),
    });
    assert.equal(r.iteration, 12);
    assert.ok(
      said.some((l) =>
        /ckpt-00000008\.bin is damaged: its SHA-256 .*resuming from the newest intact checkpoint, iteration 4/.test(
          l,
        ),
      ),
      said.join('\n'),
    );
    assert.deepEqual(
      b.weights().map((x) => Array.from(x)),
      full.map((x) => Array.from(x)),
    );
    assert.equal(existsSync(orphan), false, 'the orphan temp file is removed on resume');
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('ckpt-')).sort(), [
      'ckpt-00000008.bin',
      'ckpt-00000008.json',
      'ckpt-00000012.bin',
      'ckpt-00000012.json',
    ]);
    b.dispose();
  });
});

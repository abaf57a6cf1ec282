/**
 * `train.load_from`: a run starts from another run's checkpoint (weights and BatchNorm statistics), for
 * fine-tuning; a run of another architecture or a folder without checkpoint is refused before anything is
 * written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { trainDetector } from '../../src/train/detectorRun.js';
import { TINY_MODEL, tinyShapesData } from './tinyDetector.js';

let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-loadfrom-'));
  await setupBackend({});
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function config(train: Record<string, unknown>, model: Record<string, unknown> = TINY_MODEL) {
  return parseConfig({
    model,
    data: tinyShapesData(join(dir, 'shapes'), 2),
    train: { lr_config: { warmup: null, step: [100], by_epoch: false }, log_interval: 1, ...train },
  });
}

test('train.load_from: the run starts from the other run’s weights and BatchNorm statistics', async () => {
  const base = join(dir, 'base');
  const trained = await trainDetector(config({ max_iters: 3, seed: 1 }), {
    runDir: base,
    progress: false,
    log: () => {},
  });
  trained.model.dispose();
  const from = (await loadCheckpoint(base))!;

  // One step at a learning rate far below float32 resolution of the weights: the weights stay the base's,
  // so what the run started from shows; BatchNorm statistics move by the momentum, so they are left out.
  const lines: string[] = [];
  const tuned = await trainDetector(
    config({ max_iters: 1, seed: 2, load_from: base, optimizer: { lr: 1e-20, weight_decay: 0 } }),
    { runDir: join(dir, 'tuned'), progress: false, log: (l) => lines.push(l) },
  );
  const got = tuned.model.namedVariables();
  let compared = 0;
  for (const w of from.weights) {
    if (w.name.includes('moving_')) continue;
    assert.deepEqual(Array.from(got.get(w.name)!.dataSync()), Array.from(w.values), w.name);
    compared++;
  }
  assert.ok(compared > 10, `${compared} weights compared`);
  assert.ok(lines.some((l) => l.startsWith(`weights from ${base} (its iteration 3)`)));
  tuned.model.dispose();

  // Without load_from a run with the other seed starts elsewhere.
  const fresh = await trainDetector(
    config({ max_iters: 1, seed: 2, optimizer: { lr: 1e-20, weight_decay: 0 } }),
    { runDir: join(dir, 'fresh'), progress: false, log: () => {} },
  );
  const kernel = from.weights.find((w) => w.name.endsWith('kernel'))!;
  assert.notDeepEqual(
    Array.from(fresh.model.namedVariables().get(kernel.name)!.dataSync()),
    Array.from(kernel.values),
  );
  fresh.model.dispose();
});

test('train.load_from: another architecture, or a folder without checkpoint, is refused before anything is written', async () => {
  const base = join(dir, 'base2');
  const trained = await trainDetector(config({ max_iters: 1 }), {
    runDir: base,
    progress: false,
    log: () => {},
  });
  trained.model.dispose();
  const wider = { ...TINY_MODEL, head: { stackedConvs: 1, featChannels: 16 } };
  const runDir = join(dir, 'wider');
  await assert.rejects(
    trainDetector(config({ max_iters: 1, load_from: base }, wider), {
      runDir,
      progress: false,
      log: () => {},
    }),
    /train\.load_from: the weights of .*base2 do not fit this model: .*shape.*same architecture/,
  );
  assert.deepEqual(await readdir(runDir), [], 'nothing written but the folder');
  const empty = join(dir, 'empty');
  await assert.rejects(
    trainDetector(config({ max_iters: 1, load_from: join(dir, 'nowhere') }), {
      runDir: empty,
      progress: false,
      log: () => {},
    }),
    /train\.load_from: .*nowhere holds no checkpoint \(checkpoint\.json\); expected the folder of a trained run/,
  );
  await assert.rejects(readdir(empty), /ENOENT/, 'the run folder was not even made');
});

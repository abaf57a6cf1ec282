import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadCheckpoint,
  readManifest,
  saveCheckpoint,
  type CheckpointData,
} from '../../src/train/checkpoint.js';

function sample(iteration: number, fill: number): CheckpointData {
  return {
    iteration,
    epoch: 1,
    weights: [
      { name: 'a', shape: [2, 3], values: new Float32Array([1, 2, 3, 4, 5, fill]) },
      { name: 'b', shape: [], values: new Float32Array([Math.fround(0.1)]) },
    ],
    optimizer: [{ name: 'a', shape: [2, 3], values: new Float32Array(6).fill(fill) }],
    modelState: { loss_cls: { accSum: [Math.fround(1 / 3), 0, 7.5] } },
    loaderState: { epoch: 1, index: 4, rng: 123456789 },
    randomState: 42,
  };
}

test('checkpoint: save -> load round-trips every field exactly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-ckpt-'));
  try {
    assert.equal(await loadCheckpoint(dir), null, 'an empty folder has no checkpoint');
    const data = sample(7, -1.5);
    const m = await saveCheckpoint(dir, data);
    assert.equal(m.iteration, 7);
    assert.deepEqual(await loadCheckpoint(dir), data);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('checkpoint: older checkpoints are pruned to `keep`', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-ckpt-'));
  try {
    await saveCheckpoint(dir, sample(1, 1));
    await saveCheckpoint(dir, sample(2, 2), { keep: 2 });
    await saveCheckpoint(dir, sample(3, 3), { keep: 2 });
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, [
      'checkpoint.json',
      'ckpt-00000002.bin',
      'ckpt-00000002.json',
      'ckpt-00000003.bin',
      'ckpt-00000003.json',
    ]);
    assert.equal((await loadCheckpoint(dir))!.iteration, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('checkpoint: a crash between temp write and rename leaves the previous checkpoint intact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-ckpt-'));
  try {
    const good = sample(5, 5);
    await saveCheckpoint(dir, good);
    // Fail at each of the three renames in turn (tensors, state, manifest).
    for (let failAt = 0; failAt < 3; failAt++) {
      let n = 0;
      await assert.rejects(
        saveCheckpoint(dir, sample(10, 10), {
          beforeRename: () => {
            if (n++ === failAt) throw new Error('simulated crash');
          },
        }),
        /simulated crash/,
      );
      assert.equal((await readManifest(dir))!.iteration, 5);
      assert.deepEqual(await loadCheckpoint(dir), good);
      assert.equal((await readdir(dir)).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp file left');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

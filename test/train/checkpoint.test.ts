import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOrphanTempFiles } from '../../src/train/atomicFile.js';
import {
  CheckpointDamagedError,
  findResumableCheckpoint,
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

/** Runs `f` on a fresh temporary folder, removed afterwards. */
async function inTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-ckpt-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every file of `dir` with its bytes, to assert that a refused load changed nothing. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = (await readFile(join(dir, f))).toString('base64');
  return out;
}

test('checkpoint: a same-size corrupted tensors file is found by its SHA-256, naming the file and what to do', async () => {
  await inTempDir(async (dir) => {
    await saveCheckpoint(dir, sample(2, 2), { keep: 2 });
    await saveCheckpoint(dir, sample(4, 4), { keep: 2 });
    const bin = join(dir, 'ckpt-00000004.bin');
    const bytes = await readFile(bin);
    bytes[5] = bytes[5]! ^ 0xff;
    await writeFile(bin, bytes);
    const before = await snapshot(dir);
    await assert.rejects(loadCheckpoint(dir), (err: Error) => {
      assert.ok(err instanceof CheckpointDamagedError);
      assert.match(err.message, /ckpt-00000004\.bin is damaged: its SHA-256 .* does not match/);
      assert.match(err.message, /resuming the run falls back to the previous checkpoint, iteration 2/);
      assert.equal(err.file, bin);
      return true;
    });
    assert.deepEqual(await snapshot(dir), before, 'a refused load changes nothing');
    // A resume falls back to the newest intact checkpoint and says which file was skipped and why.
    const found = await findResumableCheckpoint(dir);
    assert.equal(found.checkpoint!.iteration, 2);
    assert.deepEqual(found.checkpoint, sample(2, 2));
    assert.equal(found.skipped.length, 1);
    assert.match(found.skipped[0]!, /ckpt-00000004\.bin is damaged/);
  });
});

test('checkpoint: damaged, empty or incomplete JSON files give messages naming the file', async () => {
  const cases: [string, (text: string) => string, RegExp][] = [
    ['checkpoint.json', (t) => t.slice(0, 40), /checkpoint\.json is damaged: it is not valid JSON/],
    ['checkpoint.json', () => '', /checkpoint\.json is damaged: it is empty/],
    [
      'checkpoint.json',
      () => '{"format": "ghmdet-checkpoint/2"}',
      /checkpoint\.json is damaged: .*`iteration`/,
    ],
    ['checkpoint.json', () => '[1, 2]', /checkpoint\.json is damaged: .*expected an object/],
    [
      'ckpt-00000004.json',
      (t) => t.replace('"weights"', '"weigths"'),
      /ckpt-00000004\.json is damaged: its SHA-256/,
    ],
    ['ckpt-00000004.json', () => '', /ckpt-00000004\.json is damaged: it is empty/],
    [
      'ckpt-00000004.bin',
      (t) => t.slice(0, 10),
      /ckpt-00000004\.bin is damaged: it holds \d+ bytes, expected \d+/,
    ],
  ];
  for (const [file, damage, message] of cases) {
    await inTempDir(async (dir) => {
      await saveCheckpoint(dir, sample(4, 4));
      const path = join(dir, file);
      await writeFile(path, damage(await readFile(path, 'latin1')), 'latin1');
      const before = await snapshot(dir);
      await assert.rejects(loadCheckpoint(dir), (err: Error) => {
        assert.match(err.message, message, `${file}: ${err.message}`);
        assert.ok(err.message.includes(path), `the message names ${path}: ${err.message}`);
        assert.match(err.message, /no earlier checkpoint is kept|rebuilds/);
        return true;
      });
      assert.deepEqual(await snapshot(dir), before);
    });
  }
});

test('checkpoint: a damaged manifest is rebuilt on resume from the newest intact pair', async () => {
  await inTempDir(async (dir) => {
    await saveCheckpoint(dir, sample(3, 3), { keep: 2 });
    await saveCheckpoint(dir, sample(6, 6), { keep: 2 });
    await writeFile(join(dir, 'checkpoint.json'), '{"format": "ghmdet-che');
    await assert.rejects(loadCheckpoint(dir), /rebuilds it from the newest intact checkpoint, iteration 6/);
    const found = await findResumableCheckpoint(dir);
    assert.equal(found.checkpoint!.iteration, 6);
    assert.match(found.skipped[0]!, /checkpoint\.json is damaged/);
    // Nothing intact at all: an error naming every damaged file.
    await writeFile(join(dir, 'ckpt-00000006.bin'), '');
    await writeFile(join(dir, 'ckpt-00000003.json'), '{');
    await assert.rejects(findResumableCheckpoint(dir), (err: Error) => {
      assert.match(err.message, /no intact checkpoint/);
      assert.match(err.message, /ckpt-00000006\.bin is damaged/);
      assert.match(err.message, /ckpt-00000003\.json is damaged/);
      return true;
    });
  });
});

test('checkpoint: orphan temporary files of a killed write are removed by pruning', async () => {
  await inTempDir(async (dir) => {
    await saveCheckpoint(dir, sample(1, 1));
    // What a kill -9 during a write leaves: temp files of a process that no longer runs (and of this pid,
    // as a container's restarted process often has the same pid).
    const orphans = [
      '.ckpt-00000002.bin.999999999.1700000000000.tmp',
      `.checkpoint.json.${process.pid}.1.tmp`,
    ];
    for (const o of orphans) await writeFile(join(dir, o), 'partial');
    await writeFile(join(dir, 'notes.tmp'), 'a user file that only looks like one');
    await saveCheckpoint(dir, sample(2, 2));
    assert.deepEqual((await readdir(dir)).sort(), [
      'checkpoint.json',
      'ckpt-00000002.bin',
      'ckpt-00000002.json',
      'notes.tmp',
    ]);
    for (const o of orphans) await writeFile(join(dir, o), 'partial');
    assert.deepEqual((await removeOrphanTempFiles(dir)).sort(), orphans.map((o) => join(dir, o)).sort());
  });
});

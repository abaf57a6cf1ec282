/**
 * kill -9 at random points of a tiny training (checkpoint every iteration), then resume, again and again: the
 * final checkpoint is bitwise the one of an uninterrupted run, every log record is there once, and no temp file
 * or lock is left. The kill points come from a fixed list of seeds: a SIGKILL the child sends itself at its K-th
 * checkpoint-file rename (its temp file written and synced, not yet renamed: tensors, state or manifest), or
 * one sent from here as soon as it reports step S (landing in the log append, the checkpoint write or the next
 * step).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, type CheckpointData } from '../../src/train/checkpoint.js';
import { RunLog } from '../../src/train/runLog.js';
import { Random } from '../../src/utils/random.js';
import { runTrainChild } from './child.js';

const MAX_ITERS = 24;
const KILL_SEEDS = [11, 12, 13, 14];

type Kill = { atRename: number } | { afterStep: number };

function killOf(seed: number): Kill {
  const r = new Random(seed);
  return r.uniform(0, 1) < 0.5
    ? { atRename: 1 + Math.floor(r.uniform(0, 12)) }
    : { afterStep: 1 + Math.floor(r.uniform(0, 5)) };
}

/** The bytes of every tensor and the JSON states, for a bitwise comparison. */
function bits(c: CheckpointData): unknown {
  const b = (ts: CheckpointData['weights']) =>
    ts.map((t) => [
      t.name,
      t.shape,
      Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).toString('hex'),
    ]);
  return { ...c, weights: b(c.weights), optimizer: b(c.optimizer) };
}

test('kill -9 at random points, then resume: bitwise the uninterrupted result, every record once, no orphan files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-faults-kill-'));
  try {
    const reference = join(dir, 'reference');
    const killed = join(dir, 'killed');
    const kills = KILL_SEEDS.map(killOf);
    assert.ok(
      kills.some((k) => 'atRename' in k) && kills.some((k) => 'afterStep' in k),
      `both kinds of kill: ${JSON.stringify(kills)}`,
    );
    // The uninterrupted run goes alongside the first killed session.
    const referenceRun = runTrainChild([reference, '--max-iters', String(MAX_ITERS)]);
    const resumes: string[] = [];
    for (const [i, kill] of kills.entries()) {
      const args = [killed, '--max-iters', String(MAX_ITERS), ...(i > 0 ? ['--resume'] : [])];
      let firstStep: number | null = null;
      const r =
        'atRename' in kill
          ? await runTrainChild([...args, '--kill-at-rename', String(kill.atRename)])
          : await runTrainChild(args, (line, child) => {
              const m = /^step (\d+)$/.exec(line);
              if (m === null) return;
              firstStep ??= Number(m[1]);
              if (Number(m[1]) - firstStep + 1 === kill.afterStep) child.kill('SIGKILL');
            });
      assert.equal(r.signal, 'SIGKILL', `session ${i + 1} (${JSON.stringify(kill)}) was killed: ${r.stderr}`);
      if (i > 0) resumes.push(r.stderr);
    }
    const last = await runTrainChild([killed, '--max-iters', String(MAX_ITERS), '--resume']);
    assert.equal(last.code, 0, last.stderr);
    resumes.push(last.stderr);
    const ref = await referenceRun;
    assert.equal(ref.code, 0, ref.stderr);

    // Each resume took the killed holder's lock over and continued from a checkpoint.
    for (const stderr of resumes) {
      assert.match(
        stderr,
        /took over .*train\.lock from process \d+ on this host .*: process \d+ no longer runs/,
      );
      assert.match(stderr, /resuming .* from iteration \d+/);
    }
    const a = (await loadCheckpoint(killed))!;
    const b = (await loadCheckpoint(reference))!;
    assert.equal(a.iteration, MAX_ITERS);
    assert.deepEqual(
      bits(a),
      bits(b),
      'the killed-and-resumed run ends bitwise equal to the uninterrupted one',
    );
    const iters = (await new RunLog(join(killed, 'log.jsonl')).read()).map((r) => r.iter);
    assert.deepEqual(
      iters,
      Array.from({ length: MAX_ITERS }, (_, i) => i + 1),
      'every record once, in order',
    );
    assert.deepEqual((await readdir(killed)).sort(), [
      'checkpoint.json',
      'ckpt-00000023.bin',
      'ckpt-00000023.json',
      'ckpt-00000024.bin',
      'ckpt-00000024.json',
      'config.json',
      'log.jsonl',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Two training processes started at one moment into one run folder: exactly one trains, the other is refused
 * with the holder's pid and command line, and the folder holds one run (its config, every log record once).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunLog } from '../../src/train/runLog.js';
import { runTrainChild, type ChildResult } from './child.js';

test('two trainings into one run folder: one runs, the other is refused naming the holder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-faults-two-'));
  try {
    const runDir = join(dir, 'run');
    const go = join(dir, 'go');
    let ready = 0;
    const onLine = (line: string) => {
      // Both loaded: release them together.
      if (line === 'ready' && ++ready === 2) void writeFile(go, '');
    };
    const runs = await Promise.all(
      [3, 4].map((seed) =>
        runTrainChild([runDir, '--max-iters', '12', '--seed', String(seed), '--wait-for', go], onLine),
      ),
    );
    const ok = runs.filter((r) => r.code === 0);
    const refused = runs.filter((r) => r.code !== 0);
    assert.equal(ok.length, 1, runs.map((r) => r.stderr).join('\n---\n'));
    assert.equal(refused.length, 1);
    const winner = runs.indexOf(ok[0] as ChildResult);
    assert.match(
      refused[0]!.stderr,
      new RegExp(
        `run folder ${runDir} is in use by process \\d+ on this host \\(.*trainChild\\.ts ${runDir} .*--seed ${[3, 4][winner]}.*\\), started `,
      ),
    );
    assert.deepEqual(JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')), {
      toy: true,
      seed: [3, 4][winner],
    });
    const iters = (await new RunLog(join(runDir, 'log.jsonl')).read()).map((r) => r.iter);
    assert.deepEqual(
      iters,
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

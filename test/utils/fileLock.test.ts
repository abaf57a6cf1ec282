import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireFileLock, LockHeldError, type LockHolder } from '../../src/utils/fileLock.js';

test('fileLock: names its holder; a lock of another host is live until it is stale, then taken over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-lock-'));
  try {
    const path = join(dir, 'x.lock');
    const lock = await acquireFileLock(path, { ifHeld: 'fail' });
    const written = JSON.parse(await readFile(path, 'utf8')) as LockHolder;
    assert.equal(written.pid, process.pid);
    assert.equal(written.host, hostname());
    assert.match(written.command, /fileLock\.test\.ts|--test/);
    assert.deepEqual(await readdir(dir), ['x.lock'], 'no temp file is left');
    await assert.rejects(acquireFileLock(path, { ifHeld: 'fail', what: 'thing' }), (err: Error) => {
      assert.ok(err instanceof LockHeldError);
      assert.match(err.message, new RegExp(`^thing is in use by process ${process.pid} on this host`));
      return true;
    });
    await lock.release();
    assert.equal(existsSync(path), false);

    const other: LockHolder = { pid: 1, host: 'elsewhere', command: 'ghmdet train', startedAt: 'then' };
    await writeFile(path, JSON.stringify(other));
    await assert.rejects(
      acquireFileLock(path, { ifHeld: 'fail', staleMs: 60_000 }),
      /in use by process 1 on host elsewhere \(ghmdet train\), started then/,
    );
    const old = new Date(Date.now() - 120_000);
    await utimes(path, old, old);
    const why: string[] = [];
    const taken = await acquireFileLock(path, {
      ifHeld: 'fail',
      staleMs: 60_000,
      onTakeover: (h, reason) => why.push(`${h!.host}: ${reason}`),
    });
    assert.match(why[0]!, /^elsewhere: host elsewhere has not touched it for 1\d\d s$/);
    await taken.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

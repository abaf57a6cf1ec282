/**
 * An exclusive lock between processes (and between async tasks of one process) on one file: the lock file is
 * created with `wx` and holds the owner's pid; it is removed when the work ends, even when it throws.
 *
 * A lock whose owner no longer runs (a process killed mid-work) is stale: the next taker removes it and goes on.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';

export interface FileLockOptions {
  /** Called once when the lock is held by someone else, with the holder's pid (0 when unreadable). */
  onWait?: (holderPid: number) => void;
  /** Polling interval while waiting, ms. Default 250. */
  pollMs?: number;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Holders within this process, by lock path: a pid check cannot tell them apart from a stale lock. */
const heldHere = new Set<string>();

/** Runs `fn` while holding the lock file `lockPath`; its directory must exist. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const pollMs = options.pollMs ?? 250;
  let told = false;
  for (;;) {
    if (!heldHere.has(lockPath)) {
      try {
        await writeFile(lockPath, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let holder = 0;
      try {
        holder = Number.parseInt(await readFile(lockPath, 'utf8'), 10) || 0;
      } catch {
        continue; // released between the two calls
      }
      if (holder !== 0 && holder !== process.pid && !isRunning(holder)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (!told) {
        options.onWait?.(holder);
        told = true;
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  heldHere.add(lockPath);
  try {
    return await fn();
  } finally {
    heldHere.delete(lockPath);
    await rm(lockPath, { force: true });
  }
}

/**
 * An exclusive lock between processes (and between async tasks of one process) on one file: the lock file is
 * created with `wx` and holds the owner's pid; it is removed when the work ends, even when it throws.
 *
 * A lock whose owner no longer runs (a process killed mid-work) is stale, and the next taker removes it and goes
 * on; so is one naming this process's own pid that no task of it holds (left by an earlier process that had the
 * same pid, as happens in containers). Two processes that find the same stale lock at the same moment may both
 * remove it; that narrow case is not guarded.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';

export interface FileLockOptions {
  /** Called once when the lock is held by someone else, with the holder's pid (0 when unreadable). */
  onWait?: (holderPid: number) => void;
  /** Polling interval while waiting, ms. Default 250. */
  pollMs?: number;
}

/** A lock file without a pid yet: its creator is between creating and writing it, unless it is this old. */
const EMPTY_LOCK_STALE_MS = 10_000;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lock paths this process holds or is taking. */
const heldHere = new Set<string>();

/** Whether the lock file's holder (read from it) still counts; false for a stale lock. */
async function holderIsLive(lockPath: string, holder: number): Promise<boolean> {
  if (holder === process.pid) return false; // not held here (checked by the caller), so left by an earlier process
  if (holder !== 0) return isRunning(holder);
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs < EMPTY_LOCK_STALE_MS;
  } catch {
    return false;
  }
}

/** Runs `fn` while holding the lock file `lockPath`; its directory must exist. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const pollMs = options.pollMs ?? 250;
  let told = false;
  for (;;) {
    let holder = process.pid;
    if (!heldHere.has(lockPath)) {
      heldHere.add(lockPath);
      try {
        await writeFile(lockPath, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        heldHere.delete(lockPath);
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      try {
        holder = Number.parseInt(await readFile(lockPath, 'utf8'), 10) || 0;
      } catch {
        continue; // released between the two calls
      }
      if (!(await holderIsLive(lockPath, holder))) {
        await rm(lockPath, { force: true });
        continue;
      }
    }
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  try {
    return await fn();
  } finally {
    heldHere.delete(lockPath);
    await rm(lockPath, { force: true });
  }
}

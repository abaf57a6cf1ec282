/**
 * An exclusive lock between processes (and between async tasks of one process) on one file. The lock file is
 * created only when it does not exist, with its content in one step (a hard link of a written temp file), and
 * names its holder: `{ pid, host, command, startedAt }`; it is removed when the work ends, even when it throws.
 *
 * A lock whose holder is gone is stale, and the next taker takes it over:
 *  - a holder on this host whose pid no longer runs (a process killed mid-work), or whose pid is this
 *    process's own while no task of it holds the lock (left by an earlier process with the same pid, as in a
 *    restarted container);
 *  - a holder on another host (a shared folder) whose lock file has not been touched for `staleMs`: a holder
 *    touches its lock file every `staleMs / 4` while it holds it;
 *  - a lock file without a readable holder (damaged, or written by `wx` where links are not supported and its
 *    creator is between creating and writing it) older than 10 s.
 * A takeover happens under a second, short-lived lock file (`<lock>.takeover`), which re-reads the holder first,
 * so two takers that find the same stale lock cannot both take it.
 *
 * Why not a lock library: proper-lockfile (mkdir locks) records no holder to name, decides staleness by mtime
 * only (so a kill -9 blocks the next run for its whole stale period instead of ending when the pid is gone),
 * and treats a heartbeat that a long synchronous TF.js computation delayed as a compromised lock, which it
 * reports by throwing from a timer.
 */
import { hostname } from 'node:os';
import { link, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isProcessRunning } from './processes.js';

/** Who holds a lock. */
export interface LockHolder {
  pid: number;
  host: string;
  /** The holder's command line, e.g. `ghmdet train --config a.json --out runs/a`. */
  command: string;
  /** ISO time the lock was taken. */
  startedAt: string;
}

/** `process 123 on host h (ghmdet train ...), started 2025-01-01T10:00:00.000Z`. */
export function describeHolder(holder: LockHolder | null): string {
  if (holder === null) return 'a process that is still writing its name into the lock';
  const here = holder.host === hostname();
  return (
    `process ${holder.pid} on ${here ? 'this host' : `host ${holder.host}`}` +
    (holder.command !== '' ? ` (${holder.command})` : '') +
    (holder.startedAt !== '' ? `, started ${holder.startedAt}` : '')
  );
}

/** The lock is held by a live holder and the caller asked not to wait. */
export class LockHeldError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | null,
    what: string,
  ) {
    super(
      `${what} is in use by ${describeHolder(holder)}; wait for it to end, or, if that process is gone, ` +
        `delete ${lockPath}`,
    );
    this.name = 'LockHeldError';
  }
}

export interface FileLockOptions {
  /** `wait` (default): poll until the lock is free; `fail`: throw a {@link LockHeldError} at once. */
  ifHeld?: 'wait' | 'fail';
  /** What the lock guards, for the error of `ifHeld: 'fail'` (e.g. `run folder runs/a`). Default the lock path. */
  what?: string;
  /** Called once when the lock is held by someone else and the caller waits. */
  onWait?: (holder: LockHolder | null) => void;
  /** Called when a stale lock is taken over, with its holder and why it was stale. */
  onTakeover?: (holder: LockHolder | null, why: string) => void;
  /** Polling interval while waiting, ms. Default 250. */
  pollMs?: number;
  /** A lock of another host is stale after this long without a touch, ms. Default 10 minutes. */
  staleMs?: number;
}

/** A held lock; `release` removes the lock file (once). */
export interface HeldLock {
  readonly path: string;
  readonly holder: LockHolder;
  release(): Promise<void>;
}

/** A lock file without a holder yet: its creator is between creating and writing it, unless it is this old. */
const UNNAMED_LOCK_STALE_MS = 10_000;
/** A takeover guard older than this was left by a taker that died during the takeover. */
const TAKEOVER_STALE_MS = 10_000;
const DEFAULT_STALE_MS = 10 * 60_000;

/** Lock paths this process holds or is taking, with the holder it wrote. */
const heldHere = new Map<string, LockHolder>();

function thisHolder(): LockHolder {
  const argv = process.argv.slice(1).map((a) => (/\s/.test(a) ? JSON.stringify(a) : a));
  return {
    pid: process.pid,
    host: hostname(),
    command: argv.join(' '),
    startedAt: new Date().toISOString(),
  };
}

/** The holder written in a lock file: JSON, or a bare pid (older lock files); null when unreadable. */
function parseHolder(text: string): LockHolder | null {
  const pid = Number.parseInt(text, 10);
  if (/^\s*\d+\s*$/.test(text) && pid > 0) return { pid, host: hostname(), command: '', startedAt: '' };
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string') return null;
    return {
      pid: h.pid,
      host: h.host,
      command: typeof h.command === 'string' ? h.command : '',
      startedAt: typeof h.startedAt === 'string' ? h.startedAt : '',
    };
  } catch {
    return null;
  }
}

/** Why the lock is stale, or null when its holder still counts. */
async function staleness(
  lockPath: string,
  holder: LockHolder | null,
  staleMs: number,
): Promise<string | null> {
  let ageMs: number;
  try {
    ageMs = Date.now() - (await stat(lockPath)).mtimeMs;
  } catch {
    return 'it was released';
  }
  if (holder === null)
    return ageMs >= UNNAMED_LOCK_STALE_MS
      ? `it names no holder and is ${Math.round(ageMs / 1000)} s old`
      : null;
  if (holder.host === hostname()) {
    if (holder.pid === process.pid)
      return 'it names this process, which does not hold it (an earlier process had this pid)';
    return isProcessRunning(holder.pid) ? null : `process ${holder.pid} no longer runs`;
  }
  return ageMs >= staleMs ? `host ${holder.host} has not touched it for ${Math.round(ageMs / 1000)} s` : null;
}

/** Removes the stale lock, unless another taker is at it or it changed since it was read. True when removed. */
async function takeOver(lockPath: string, seen: string): Promise<boolean> {
  const guard = `${lockPath}.takeover`;
  try {
    await writeFile(guard, String(process.pid), { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    try {
      if (Date.now() - (await stat(guard)).mtimeMs >= TAKEOVER_STALE_MS) await rm(guard, { force: true });
    } catch {
      // removed meanwhile
    }
    return false;
  }
  try {
    let now: string;
    try {
      now = await readFile(lockPath, 'utf8');
    } catch {
      return true; // released meanwhile
    }
    if (now !== seen) return false;
    await rm(lockPath, { force: true });
    return true;
  } finally {
    await rm(guard, { force: true });
  }
}

/**
 * Creates the lock file with its whole content at once, or returns false when it exists: the content goes to a
 * temp file that is then hard-linked to the lock's name (atomic, and fails when the name exists), so a process
 * killed meanwhile leaves no lock without a holder (only a temp file, `.NAME.PID.MS.tmp`). Where hard links are not
 * supported, the lock file is created with `wx` and written.
 */
async function createLockFile(lockPath: string, text: string): Promise<boolean> {
  const temp = join(dirname(lockPath), `.${basename(lockPath)}.${process.pid}.${Date.now()}.tmp`);
  await writeFile(temp, text);
  try {
    await link(temp, lockPath);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
  } finally {
    await rm(temp, { force: true });
  }
  try {
    await writeFile(lockPath, text, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Takes the lock file `lockPath` (its folder must exist); see the file comment. */
export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<HeldLock> {
  const pollMs = options.pollMs ?? 250;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  let told = false;
  for (;;) {
    let holder: LockHolder | null = heldHere.get(lockPath) ?? null;
    if (holder === null) {
      const mine = thisHolder();
      heldHere.set(lockPath, mine);
      let created: boolean;
      try {
        created = await createLockFile(lockPath, JSON.stringify(mine) + '\n');
      } catch (e) {
        heldHere.delete(lockPath);
        throw e;
      }
      if (created) return held(lockPath, mine, staleMs);
      heldHere.delete(lockPath);
      let text: string;
      try {
        text = await readFile(lockPath, 'utf8');
      } catch {
        continue; // released between the two calls
      }
      holder = parseHolder(text);
      const why = await staleness(lockPath, holder, staleMs);
      if (why !== null) {
        if (await takeOver(lockPath, text)) options.onTakeover?.(holder, why);
        continue;
      }
    }
    if (options.ifHeld === 'fail') throw new LockHeldError(lockPath, holder, options.what ?? lockPath);
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

function held(lockPath: string, holder: LockHolder, staleMs: number): HeldLock {
  // Touch the lock file while it is held, so that other hosts see it is live.
  const touch = setInterval(
    () => {
      const now = new Date();
      utimes(lockPath, now, now).catch(() => {});
    },
    Math.max(1000, staleMs / 4),
  );
  touch.unref();
  let released = false;
  return {
    path: lockPath,
    holder,
    async release() {
      if (released) return;
      released = true;
      clearInterval(touch);
      heldHere.delete(lockPath);
      try {
        const now = parseHolder(await readFile(lockPath, 'utf8'));
        // Taken over meanwhile (another host judged it stale): the file is no longer ours to remove.
        if (now !== null && (now.pid !== holder.pid || now.startedAt !== holder.startedAt)) return;
      } catch {
        return;
      }
      await rm(lockPath, { force: true });
    },
  };
}

/** Runs `fn` while holding the lock file `lockPath` (its folder must exist); see {@link acquireFileLock}. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const lock = await acquireFileLock(lockPath, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

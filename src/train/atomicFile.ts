/**
 * Crash-safe file replacement: write to a temp file in the same folder, fsync it, rename it over the
 * target, fsync the folder. A reader sees the old file or the new one, never a torn one.
 *
 * The temp file is `.<target name>.<pid>.<milliseconds>.tmp`. A process killed between creating it and the
 * rename (kill -9, power loss) leaves it behind; `removeOrphanTempFiles` removes such files later.
 */
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { readdirIfPresent } from '../utils/files.js';
import { isProcessRunning } from '../utils/processes.js';

/** A temp file name of `writeFileAtomic`: target name, writer pid, time. */
const TEMP_FILE = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

/** Test seam: called after the temp file is written and synced, before the rename. Throwing aborts the write. */
export type BeforeRenameHook = (target: string, tempPath: string) => void | Promise<void>;

export interface AtomicWriteOptions {
  beforeRename?: BeforeRenameHook;
}

/** Replaces `target` with `data` atomically (see the file comment). The temp file is removed on failure. */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${Date.now()}.tmp`); // matches TEMP_FILE
  const handle = await fs.open(temp, 'w');
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.(target, temp);
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** fsyncs a folder so a rename inside it is durable (a no-op where folders cannot be opened). */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

/**
 * Removes the temp files that interrupted `writeFileAtomic` calls left in `dir`: those of a writer that no
 * longer runs, and those of this process (whose pid may be a killed predecessor's, as in a restarted
 * container). Call it only when no write of this process into `dir` is in flight (in a run folder: under its
 * lock, between checkpoint writes). Returns the paths removed.
 */
export async function removeOrphanTempFiles(dir: string): Promise<string[]> {
  const names = await readdirIfPresent(dir);
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (m === null) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && isProcessRunning(pid)) continue;
    await fs.rm(join(dir, name), { force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

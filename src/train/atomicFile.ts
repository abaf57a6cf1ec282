/**
 * Crash-safe file replacement: write to a temp file in the same folder, fsync it, rename it over the
 * target, fsync the folder. A reader sees the old file or the new one, never a torn one.
 */
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';

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
  const temp = join(dir, `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
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

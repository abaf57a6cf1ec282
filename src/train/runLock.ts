/**
 * A run folder is written by one process at a time: `train.lock` in the folder names its holder (pid, host,
 * command, start time; src/utils/fileLock.ts). A second training into the folder is refused with the holder's
 * name; the lock of a process that no longer runs (kill -9, a crash) is taken over, saying so.
 */
import { join } from 'node:path';
import { acquireFileLock, describeHolder, type HeldLock } from '../utils/fileLock.js';

export const RUN_LOCK_FILE = 'train.lock';

/** Takes `runDir`'s lock (the folder must exist) or throws a `LockHeldError` naming the live holder. */
export function holdRunFolder(runDir: string, say: (line: string) => void): Promise<HeldLock> {
  return acquireFileLock(join(runDir, RUN_LOCK_FILE), {
    ifHeld: 'fail',
    what: `run folder ${runDir}`,
    onTakeover: (holder, why) =>
      say(`took over ${join(runDir, RUN_LOCK_FILE)} from ${describeHolder(holder)}: ${why}`),
  });
}

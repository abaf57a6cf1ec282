/** File-system helpers shared by the run-folder readers and writers. */
import { promises as fs } from 'node:fs';

/** The names in `dir`, or none when `dir` does not exist (any other error is thrown). */
export async function readdirIfPresent(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

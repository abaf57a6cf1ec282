/** JSON files of the results scripts (collect.ts, figures.ts, tables.ts). */
import { readFile } from 'node:fs/promises';

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** The parsed file, or null when it does not exist (any other error is thrown). */
export async function readIfPresent<T>(path: string): Promise<T | null> {
  try {
    return await readJson<T>(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

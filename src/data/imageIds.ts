/**
 * COCO image ids for a list of image files (what `ghmdet predict` writes into its results): a file whose name
 * is a number keeps it (`000012.png` -> 12, as the shapes and COCO files are named); the other files are
 * numbered after the largest such number, in list order. Two files with the same number (`3.png`, `003.jpg`)
 * are an error, since their detections could not be told apart.
 */
import { basename, extname } from 'node:path';

/** One file's id, as COCO's `images` entries: `{ id, file_name }`. */
export interface ImageIdEntry {
  id: number;
  file_name: string;
}

export interface ImageIds {
  /** One entry per file, in the order given. */
  entries: ImageIdEntry[];
  /** How many files kept the number of their name, and how many were numbered after them. */
  fromFileNumbers: number;
  numberedAfter: number;
}

/** The number a file name stands for (`000012.png` -> 12), or null when its stem is not all digits. */
export function fileNumber(path: string): number | null {
  const stem = basename(path, extname(path));
  return /^\d+$/.test(stem) && Number.isSafeInteger(Number(stem)) ? Number(stem) : null;
}

/** Ids for `files` (see the module comment). */
export function assignImageIds(files: readonly string[]): ImageIds {
  const numbers = files.map(fileNumber);
  const owner = new Map<number, string>();
  numbers.forEach((n, i) => {
    if (n === null) return;
    const other = owner.get(n);
    if (other !== undefined)
      throw new Error(
        `two images map to image_id ${n}: ${other} and ${files[i]}; rename one so that their detections ` +
          'can be told apart',
      );
    owner.set(n, files[i]!);
  });
  let next = Math.max(0, ...owner.keys()) + 1;
  const entries = files.map((file, i) => ({ id: numbers[i] ?? next++, file_name: file }));
  const fromFileNumbers = owner.size;
  return { entries, fromFileNumbers, numberedAfter: files.length - fromFileNumbers };
}

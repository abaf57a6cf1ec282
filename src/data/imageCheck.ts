/**
 * Checks every image file of a dataset before training reads it: the file exists and is not empty, its header
 * decodes (sharp's `metadata()`: format, width, height) and its size is the one the annotations record; with
 * `decode`, the whole image is decoded too (a file cut after its header passes the header check). Problems are
 * collected, one per bad file, rather than thrown, so `ghmdet data check` can list them all with a count.
 */
import sharp from 'sharp';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DetectionDataset } from './dataset.js';

/** One bad image file. */
export interface ImageProblem {
  /** Path of the file. */
  file: string;
  /** The record it belongs to, e.g. `image id 12`. */
  where: string;
  /** What is wrong, e.g. `it is empty (0 bytes)`. */
  problem: string;
}

export interface ImageCheckOptions {
  /** Decode every image in full, not just its header. Default false. */
  decode?: boolean;
  /** Called after each image, with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Images checked at once (sharp decodes on libuv's thread pool). Default 4. */
  concurrency?: number;
}

export interface ImageCheckResult {
  /** Images checked. */
  checked: number;
  /** The bad ones, in dataset order. */
  problems: ImageProblem[];
}

/** sharp's message on one line: libvips may repeat its lines (`VipsJpeg: premature end...` twice). */
function sharpMessage(e: unknown): string {
  const lines = (e as Error).message.split('\n').map((l) => l.trim());
  return [...new Set(lines.filter((l) => l !== ''))].join('; ');
}

/** What is wrong with one image file, or null when it is fine. */
async function checkOne(
  path: string,
  expected: { width: number; height: number },
  decode: boolean,
): Promise<string | null> {
  let bytes: number;
  try {
    bytes = (await stat(path)).size;
  } catch {
    return 'it does not exist';
  }
  if (bytes === 0) return 'it is empty (0 bytes)';
  let width: number | undefined;
  let height: number | undefined;
  let format: string | undefined;
  try {
    ({ width, height, format } = await sharp(path).metadata());
  } catch (e) {
    return `its header does not decode (${sharpMessage(e)}); is it a complete JPEG or PNG file?`;
  }
  if (width !== expected.width || height !== expected.height)
    return (
      `it is ${width}x${height} pixels but the annotations say ${expected.width}x${expected.height}; ` +
      'the boxes would be wrong, so the annotation file or the image is out of date'
    );
  if (decode) {
    try {
      await sharp(path).raw().toBuffer();
    } catch (e) {
      return `it does not decode (${sharpMessage(e)}); the ${format ?? 'image'} file is cut or damaged`;
    }
  }
  return null;
}

/** Checks the image files of `dataset` (see the module comment). */
export async function checkImageFiles(
  dataset: DetectionDataset,
  options: ImageCheckOptions = {},
): Promise<ImageCheckResult> {
  const images = dataset.images;
  const found: (ImageProblem | null)[] = new Array<ImageProblem | null>(images.length).fill(null);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < images.length) {
      const i = next++;
      const img = images[i]!;
      const file = join(dataset.root, img.fileName);
      const problem = await checkOne(file, img, options.decode ?? false);
      if (problem !== null) found[i] = { file, where: `image id ${img.id}`, problem };
      options.onProgress?.(++done, images.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, images.length) }, worker));
  // libvips keeps one error buffer for all threads, so a message found while other images were decoding may
  // carry their text too: each bad file is checked again on its own for a message of its own.
  for (const p of found) {
    if (p === null) continue;
    const img = images[found.indexOf(p)]!;
    p.problem = (await checkOne(p.file, img, options.decode ?? false)) ?? p.problem;
  }
  return { checked: images.length, problems: found.filter((p): p is ImageProblem => p !== null) };
}

/**
 * The synthetic shapes dataset, ghmdet's embedded default data: the generator of `./shapesGenerator.ts`
 * written as a COCO dataset of PNG files (Node only: file system and sharp).
 *
 * Layout written under `dir`:
 *   train/000001.png ...              val/000001.png ...
 *   annotations/instances_train.json  annotations/instances_val.json   (COCO instances, bbox xywh)
 *   shapes-dataset.json               (marker: generator version + parameters; written last)
 *   .shapes-generating.lock           (only while a generation runs: the writer's pid)
 *
 * Annotation noise (`noise`) is applied to the training split only; each noisy annotation carries a `noise`
 * record with its original value and the file's `info.ghmdet_shapes.noise_counts` counts them.
 * Determinism: the images as the generator's; the noise draws from one `Random` seeded by (seed, 'noise');
 * the same options give the same PNG bytes and JSON.
 */
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Random } from '../utils/random.js';
import { applyAnnotationNoise, type NoiseRecord, type NoiseCounts } from './annotationNoise.js';
import { writePng } from './image.js';
import { withFileLock, type LockHolder } from '../utils/fileLock.js';
import {
  SHAPES_GENERATOR_VERSION,
  mix32,
  renderSplitImage,
  resolveShapesOptions,
  type ResolvedShapesOptions,
  type ShapesOptions,
} from './shapesGenerator.js';

export {
  DEFAULT_SHAPE_CLASSES,
  SHAPES_GENERATOR_VERSION,
  imageSeed,
  renderShapesImage,
  renderSplitImage,
  resolveShapesOptions,
} from './shapesGenerator.js';
export type { ResolvedShapesOptions, ShapeObject, ShapesImage, ShapesOptions } from './shapesGenerator.js';

export const SHAPES_MARKER_FILE = 'shapes-dataset.json';
/** Held while a generation writes the folder (see `withFileLock`). */
export const SHAPES_LOCK_FILE = '.shapes-generating.lock';

/** Paths of one split of a shapes dataset under `dir`. */
export function shapesSplitPaths(
  dir: string,
  split: 'train' | 'val',
): { annotationFile: string; imageRoot: string } {
  return { annotationFile: join(dir, 'annotations', `instances_${split}.json`), imageRoot: join(dir, split) };
}

export interface ShapesSplitSummary {
  annotationFile: string;
  imageRoot: string;
  images: number;
  annotations: number;
}

export interface ShapesDatasetSummary {
  dir: string;
  train: ShapesSplitSummary;
  val: ShapesSplitSummary;
  /** Noise applied to the training split. */
  noiseCounts: NoiseCounts;
  /** False when `ensureShapesDataset` found the dataset already there. */
  generated: boolean;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

interface PendingAnnotation {
  imageId: number;
  classIndex: number;
  categoryId: number;
  bboxXyxy: [number, number, number, number];
  area: number;
  imageWidth: number;
  imageHeight: number;
  noise?: NoiseRecord;
}

async function writeSplit(
  dir: string,
  split: 'train' | 'val',
  count: number,
  o: ResolvedShapesOptions,
): Promise<{ summary: ShapesSplitSummary; noiseCounts: NoiseCounts }> {
  const paths = shapesSplitPaths(dir, split);
  await mkdir(paths.imageRoot, { recursive: true });
  const images: { id: number; file_name: string; width: number; height: number }[] = [];
  let anns: PendingAnnotation[] = [];
  let writes: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const id = i + 1;
    const fileName = `${String(id).padStart(6, '0')}.png`;
    const img = renderSplitImage(o, split, i);
    images.push({ id, file_name: fileName, width: o.size, height: o.size });
    for (const ob of img.objects) {
      anns.push({
        imageId: id,
        classIndex: ob.classIndex,
        categoryId: ob.classIndex + 1,
        bboxXyxy: ob.bboxXyxy,
        area: ob.area,
        imageWidth: o.size,
        imageHeight: o.size,
      });
    }
    writes.push(
      writePng({ data: img.pixels, width: o.size, height: o.size }, join(paths.imageRoot, fileName)),
    );
    if (writes.length >= 16) {
      await Promise.all(writes);
      writes = [];
    }
  }
  await Promise.all(writes);
  let noiseCounts: NoiseCounts = { label: 0, jitter: 0, drop: 0, total: anns.length };
  if (split === 'train') {
    const r = applyAnnotationNoise(anns, o.noise, o.classes.length, new Random(mix32(o.seed ^ 0x6e6f6973)));
    anns = r.kept;
    noiseCounts = r.counts;
  }
  const coco = {
    info: {
      description: `ghmdet synthetic shapes, ${split} split`,
      version: String(SHAPES_GENERATOR_VERSION),
      ghmdet_shapes: {
        generator_version: SHAPES_GENERATOR_VERSION,
        split,
        parameters: o,
        noise_counts: noiseCounts,
      },
    },
    images,
    annotations: anns.map((a, k) => {
      const [x1, y1, x2, y2] = a.bboxXyxy;
      const x = round2(x1);
      const y = round2(y1);
      return {
        id: k + 1,
        image_id: a.imageId,
        category_id: a.classIndex + 1,
        bbox: [x, y, round2(round2(x2) - x), round2(round2(y2) - y)],
        area: a.area,
        iscrowd: 0,
        ...(a.noise !== undefined ? { noise: a.noise } : {}),
      };
    }),
    categories: o.classes.map((name, k) => ({ id: k + 1, name, supercategory: 'shape' })),
  };
  await mkdir(join(dir, 'annotations'), { recursive: true });
  await writeFile(paths.annotationFile, JSON.stringify(coco));
  return { summary: { ...paths, images: images.length, annotations: anns.length }, noiseCounts };
}

function marker(o: ResolvedShapesOptions): string {
  return JSON.stringify({ generator_version: SHAPES_GENERATOR_VERSION, parameters: o });
}

/**
 * Generates the dataset under `dir` (overwriting the generator's own files there); see the module comment.
 * Holds `dir`'s generation lock meanwhile, so two processes never write the same folder at once.
 */
export async function generateShapesDataset(
  dir: string,
  options: ShapesOptions = {},
): Promise<ShapesDatasetSummary> {
  const o = resolveShapesOptions(options);
  return withGenerationLock(dir, () => writeDataset(dir, o));
}

/** Runs `fn` holding `dir`'s generation lock (creating `dir` first). */
async function withGenerationLock<T>(
  dir: string,
  fn: () => Promise<T>,
  onWait?: (holder: LockHolder | null) => void,
): Promise<T> {
  await mkdir(dir, { recursive: true });
  return withFileLock(join(dir, SHAPES_LOCK_FILE), fn, { onWait });
}

async function writeDataset(dir: string, o: ResolvedShapesOptions): Promise<ShapesDatasetSummary> {
  await removeShapesFiles(dir);
  const train = await writeSplit(dir, 'train', o.train, o);
  const val = await writeSplit(dir, 'val', o.val, o);
  await writeFile(join(dir, SHAPES_MARKER_FILE), marker(o));
  return { dir, train: train.summary, val: val.summary, noiseCounts: train.noiseCounts, generated: true };
}

async function removeShapesFiles(dir: string): Promise<void> {
  await rm(join(dir, SHAPES_MARKER_FILE), { force: true });
  for (const sub of ['train', 'val', 'annotations'])
    await rm(join(dir, sub), { recursive: true, force: true });
}

/**
 * What `dir` holds, compared with the dataset `options` make: `absent` (no marker and none of train/, val/,
 * annotations/), `same` (the marker of this generator version with these parameters), `different` (a marker
 * with other parameters or another generator version; `differences` names them, e.g. `size: 64 there, 128
 * here`) or `unmarked` (some of those folders but no marker: an interrupted generation, or another dataset).
 * Reads only.
 */
export type ShapesFolderState =
  | { kind: 'absent' }
  | { kind: 'same' }
  | { kind: 'different'; differences: string[] }
  | { kind: 'unmarked'; entries: string[] };

export async function inspectShapesFolder(
  dir: string,
  options: ShapesOptions = {},
): Promise<ShapesFolderState> {
  const o = resolveShapesOptions(options);
  let text: string | undefined;
  try {
    text = await readFile(join(dir, SHAPES_MARKER_FILE), 'utf8');
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    const entries: string[] = [];
    for (const sub of ['train', 'val', 'annotations']) {
      try {
        await access(join(dir, sub));
        entries.push(`${sub}/`);
      } catch {
        // absent
      }
    }
    return entries.length === 0 ? { kind: 'absent' } : { kind: 'unmarked', entries };
  }
  if (text === marker(o)) return { kind: 'same' };
  let there: { generator_version?: unknown; parameters?: Record<string, unknown> } = {};
  try {
    there = JSON.parse(text) as typeof there;
  } catch {
    return { kind: 'different', differences: [`${SHAPES_MARKER_FILE} is not valid JSON`] };
  }
  const differences: string[] = [];
  const show = (v: unknown) => JSON.stringify(v) ?? 'absent';
  if (there.generator_version !== SHAPES_GENERATOR_VERSION)
    differences.push(
      `generator version: ${show(there.generator_version)} there, ${SHAPES_GENERATOR_VERSION} here`,
    );
  const params = there.parameters ?? {};
  for (const key of new Set([...Object.keys(o), ...Object.keys(params)])) {
    const mine = show((o as Record<string, unknown>)[key]);
    const theirs = show(params[key]);
    if (mine !== theirs) differences.push(`${key}: ${theirs} there, ${mine} here`);
  }
  return differences.length === 0 ? { kind: 'same' } : { kind: 'different', differences };
}

/** Whether both splits' annotation files are readable and every image file they name is in its folder. */
async function imagesComplete(dir: string): Promise<boolean> {
  for (const split of ['train', 'val'] as const) {
    const paths = shapesSplitPaths(dir, split);
    try {
      const json = JSON.parse(await readFile(paths.annotationFile, 'utf8')) as {
        images: { file_name: string }[];
      };
      const present = new Set(await readdir(paths.imageRoot));
      if (!json.images.every((im) => present.has(im.file_name))) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Generates the dataset only if `dir` does not already hold one made by this generator version with the
 * same parameters (its marker file says so); otherwise returns its summary without touching it.
 * `onGenerate` is called before a generation starts, with why it is needed and the resolved options;
 * `onWait` when another process (or task) is generating into `dir`: this call waits for it, then looks again.
 */
export async function ensureShapesDataset(
  dir: string,
  options: ShapesOptions = {},
  onGenerate?: (
    reason: 'absent' | 'parameters differ' | 'incomplete',
    options: ResolvedShapesOptions,
  ) => void,
  onWait?: (holder: LockHolder | null) => void,
): Promise<ShapesDatasetSummary> {
  const o = resolveShapesOptions(options);
  const readMarker = async (): Promise<string | undefined> => {
    try {
      return await readFile(join(dir, SHAPES_MARKER_FILE), 'utf8');
    } catch {
      return undefined;
    }
  };
  // The marker is written last, but files can go missing afterwards: a marked folder is used only when every
  // image its annotations name is there.
  const state = async (): Promise<'absent' | 'parameters differ' | 'incomplete' | 'ready'> => {
    const existing = await readMarker();
    if (existing === undefined) return 'absent';
    if (existing !== marker(o)) return 'parameters differ';
    return (await imagesComplete(dir)) ? 'ready' : 'incomplete';
  };
  if ((await state()) !== 'ready') {
    const generated = await withGenerationLock(
      dir,
      async () => {
        // Another process may have generated it while this one waited for the lock.
        const now = await state();
        if (now === 'ready') return null;
        onGenerate?.(now, o);
        return writeDataset(dir, o);
      },
      onWait,
    );
    if (generated !== null) return generated;
  }
  const summary = async (split: 'train' | 'val') => {
    const paths = shapesSplitPaths(dir, split);
    const json = JSON.parse(await readFile(paths.annotationFile, 'utf8')) as {
      images: unknown[];
      annotations: unknown[];
      info: { ghmdet_shapes: { noise_counts: NoiseCounts } };
    };
    return { summary: { ...paths, images: json.images.length, annotations: json.annotations.length }, json };
  };
  const train = await summary('train');
  const val = await summary('val');
  return {
    dir,
    train: train.summary,
    val: val.summary,
    noiseCounts: train.json.info.ghmdet_shapes.noise_counts,
    generated: false,
  };
}

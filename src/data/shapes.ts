/**
 * The synthetic shapes dataset, ghmdet's embedded default data: a deterministic generator that writes a COCO
 * dataset of small RGB images with a few shape classes on textured, cluttered backgrounds.
 *
 * Layout written under `dir`:
 *   train/000001.png ...              val/000001.png ...
 *   annotations/instances_train.json  annotations/instances_val.json   (COCO instances, bbox xywh)
 *   shapes-dataset.json               (marker: generator version + parameters; written last)
 *   .shapes-generating.lock           (only while a generation runs: the writer's pid)
 *
 * Per image: a background (gradient, colour blobs or stripes), then 1..maxObjects class shapes and
 * 0..maxDistractors distractors (stars, lines, partial class shapes, class shapes not in the class list)
 * drawn in a random order, so later shapes partly cover earlier ones; then Gaussian sensor noise.
 * An annotation's box is the shape's exact geometric extent (so an occluded object keeps its full box);
 * its `area` is its visible pixel count (the pixels with coverage >= 0.5 that no later shape covers, like
 * COCO's mask area); an object with less than `minVisible` of its pixels visible is not annotated.
 * Annotation noise (`noise`) is applied to the training split only; each noisy annotation carries a `noise`
 * record with its original value and the file's `info.ghmdet_shapes.noise_counts` counts them.
 *
 * Determinism: every image draws from its own `Random` seeded by (seed, split, index), the noise from one
 * seeded by (seed, 'noise'); the same options give the same PNG bytes and JSON.
 */
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Random } from '../utils/random.js';
import { coverage, makeCanvas, paint, toBytes, type Coverage } from './raster.js';
import { addNoise, drawBackground, meanColor, randomColor, type Rgb } from './backgrounds.js';
import {
  SHAPE_CLASSES,
  makeClassShape,
  makeDistractor,
  type DistractorKind,
  type PlacedShape,
  type ShapeClass,
} from './shapeGeometry.js';
import {
  applyAnnotationNoise,
  validateNoiseOptions,
  type AnnotationNoiseOptions,
  type NoiseRecord,
  type NoiseCounts,
} from './annotationNoise.js';
import { writePng } from './image.js';
import { withFileLock, type LockHolder } from '../utils/fileLock.js';

/** Bumped whenever the generator's output for the same options changes (invalidates `ensureShapesDataset`). */
export const SHAPES_GENERATOR_VERSION = 2;
export const SHAPES_MARKER_FILE = 'shapes-dataset.json';
/** Held while a generation writes the folder (see `withFileLock`). */
export const SHAPES_LOCK_FILE = '.shapes-generating.lock';

export interface ShapesOptions {
  /** Training images. Default 600. */
  train?: number;
  /** Validation images. Default 100. */
  val?: number;
  /** Image side in pixels (square images). Default 128. */
  size?: number;
  /** Seed of everything. Default 0. */
  seed?: number;
  /** Annotated classes, category ids 1..K in this order. Default circle, square, triangle, cross. */
  classes?: ShapeClass[];
  /** Objects per image, uniform in [minObjects, maxObjects]. Defaults 1 and 4. */
  minObjects?: number;
  maxObjects?: number;
  /** Object size (circumscribed diameter) range as fractions of `size`, log-uniform. Defaults 0.09, 0.625 (~12-80 px at 128). */
  minObjectSize?: number;
  maxObjectSize?: number;
  /** Distractors per image, uniform in [0, maxDistractors]. Default 3. */
  maxDistractors?: number;
  /** Smallest visible fraction of an object's pixels for it to be annotated. Default 0.4. */
  minVisible?: number;
  /** Annotation noise on the training split. Default none. */
  noise?: AnnotationNoiseOptions;
}

export type ResolvedShapesOptions = Required<Omit<ShapesOptions, 'noise'>> & {
  noise: Required<AnnotationNoiseOptions>;
};

export const DEFAULT_SHAPE_CLASSES: ShapeClass[] = ['circle', 'square', 'triangle', 'cross'];

/** Fills in defaults and validates; errors name the option, the expected range and the value. */
export function resolveShapesOptions(o: ShapesOptions = {}): ResolvedShapesOptions {
  const r: ResolvedShapesOptions = {
    train: o.train ?? 600,
    val: o.val ?? 100,
    size: o.size ?? 128,
    seed: o.seed ?? 0,
    classes: o.classes ?? DEFAULT_SHAPE_CLASSES,
    minObjects: o.minObjects ?? 1,
    maxObjects: o.maxObjects ?? 4,
    minObjectSize: o.minObjectSize ?? 0.09,
    maxObjectSize: o.maxObjectSize ?? 0.625,
    maxDistractors: o.maxDistractors ?? 3,
    minVisible: o.minVisible ?? 0.4,
    noise: validateNoiseOptions(o.noise ?? {}, 'shapes'),
  };
  const int = (k: keyof ResolvedShapesOptions, min: number) => {
    const v = r[k] as number;
    if (!Number.isInteger(v) || v < min)
      throw new Error(`shapes: ${k} must be an integer >= ${min}, got ${v}`);
  };
  int('train', 0);
  int('val', 0);
  int('size', 16);
  int('seed', 0);
  int('minObjects', 0);
  int('maxObjects', r.minObjects);
  int('maxDistractors', 0);
  if (!(r.minObjectSize > 0 && r.minObjectSize <= r.maxObjectSize && r.maxObjectSize <= 1)) {
    throw new Error(
      `shapes: object sizes must satisfy 0 < minObjectSize <= maxObjectSize <= 1, got ${r.minObjectSize}, ${r.maxObjectSize}`,
    );
  }
  if (!(r.minVisible >= 0 && r.minVisible <= 1))
    throw new Error(`shapes: minVisible must be in [0, 1], got ${r.minVisible}`);
  const bad = r.classes.filter((c) => !SHAPE_CLASSES.includes(c));
  if (r.classes.length === 0 || bad.length > 0 || new Set(r.classes).size !== r.classes.length) {
    throw new Error(
      `shapes: classes must be distinct names from ${SHAPE_CLASSES.join(', ')}, got [${r.classes.join(', ')}]`,
    );
  }
  return r;
}

/** One annotated object of a rendered image. */
export interface ShapeObject {
  classIndex: number;
  /** Geometric extent [x1, y1, x2, y2], pixels. */
  bboxXyxy: [number, number, number, number];
  /** Visible pixels (coverage >= 0.5, not covered by later shapes). */
  area: number;
}

/** A rendered image: `pixels: Uint8Array [size, size, 3]` RGB and its annotated objects. */
export interface ShapesImage {
  pixels: Uint8Array;
  objects: ShapeObject[];
}

/** A 32-bit mix (murmur3's finaliser) used to derive independent seeds. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The seed of one image: a hash of (seed, split code, index). */
export function imageSeed(seed: number, split: 'train' | 'val', index: number): number {
  return mix32(mix32(seed + 0x9e3779b9) ^ mix32((split === 'train' ? 1 : 2) * 0x51ed27 + index * 2654435761));
}

const DISTRACTOR_KINDS: DistractorKind[] = ['star', 'line', 'partial', 'other'];
/** Smallest colour distance (RGB, 0..255 units) between a shape and the background under it, when reachable. */
const MIN_CONTRAST = 90;

function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

/** Renders one image with `rng`; see the module comment. */
export function renderShapesImage(o: ResolvedShapesOptions, rng: Random): ShapesImage {
  const S = o.size;
  const canvas = makeCanvas(S, S);
  drawBackground(canvas, rng);
  const nObjects = rng.int(o.minObjects, o.maxObjects);
  const nDistractors = rng.int(0, o.maxDistractors);
  // Draw order: objects (>= 0: class index) and distractors (-1), shuffled so either may cover the other.
  const items = rng.shuffle([
    ...Array.from({ length: nObjects }, () => rng.int(0, o.classes.length - 1)),
    ...Array.from({ length: nDistractors }, () => -1),
  ]);
  const owner = new Int16Array(S * S).fill(-1);
  const own: { classIndex: number; shape: PlacedShape; pixels: number }[] = [];
  const placed: number[][] = [];
  items.forEach((cls, k) => {
    const size = Math.exp(rng.uniform(Math.log(o.minObjectSize * S), Math.log(o.maxObjectSize * S)));
    let shape: PlacedShape | undefined;
    // Up to 8 tries to keep an object's box from overlapping an earlier object's box by IoU > 0.4.
    for (let attempt = 0; attempt < 8; attempt++) {
      const cx = rng.uniform(size / 2, S - size / 2);
      const cy = rng.uniform(size / 2, S - size / 2);
      shape =
        cls >= 0
          ? makeClassShape(o.classes[cls]!, cx, cy, size, rng)
          : makeDistractor(rng.pick(DISTRACTOR_KINDS), cx, cy, size, rng, o.classes);
      if (cls < 0 || placed.every((b) => boxIou(b, shape!.bboxXyxy) <= 0.4)) break;
    }
    const cov: Coverage = coverage(canvas, shape!.sdf, shape!.bboxXyxy);
    const bg = meanColor(canvas, cov.x0, cov.y0, cov.x1, cov.y1);
    let color: Rgb = randomColor(rng);
    for (
      let t = 0;
      t < 10 && Math.hypot(color[0] - bg[0], color[1] - bg[1], color[2] - bg[2]) < MIN_CONTRAST;
      t++
    ) {
      color = randomColor(rng);
    }
    paint(canvas, cov, color);
    let pixels = 0;
    const w = cov.x1 - cov.x0;
    for (let i = cov.y0; i < cov.y1; i++) {
      for (let j = cov.x0; j < cov.x1; j++) {
        if (cov.alpha[(i - cov.y0) * w + (j - cov.x0)]! >= 0.5) {
          owner[i * S + j] = k;
          pixels++;
        }
      }
    }
    if (cls >= 0) placed.push(shape!.bboxXyxy);
    own.push({ classIndex: cls, shape: shape!, pixels });
  });
  const visible = new Int32Array(items.length);
  for (let p = 0; p < owner.length; p++) if (owner[p]! >= 0) visible[owner[p]!]++;
  const objects: ShapeObject[] = [];
  own.forEach((it, k) => {
    if (it.classIndex < 0 || it.pixels === 0 || visible[k]! < o.minVisible * it.pixels) return;
    objects.push({ classIndex: it.classIndex, bboxXyxy: it.shape.bboxXyxy, area: visible[k]! });
  });
  addNoise(canvas, rng.uniform(2, 10), rng);
  return { pixels: toBytes(canvas), objects };
}

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
    const img = renderShapesImage(o, new Random(imageSeed(o.seed, split, i)));
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

/**
 * Generates the dataset only if `dir` does not already hold one made by this generator version with the
 * same parameters (its marker file says so); otherwise returns its summary without touching it.
 * `onGenerate` is called before a generation starts, with why it is needed and the resolved options;
 * `onWait` when another process (or task) is generating into `dir`: this call waits for it, then looks again.
 */
export async function ensureShapesDataset(
  dir: string,
  options: ShapesOptions = {},
  onGenerate?: (reason: 'absent' | 'parameters differ', options: ResolvedShapesOptions) => void,
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
  if ((await readMarker()) !== marker(o)) {
    const generated = await withGenerationLock(
      dir,
      async () => {
        // Another process may have generated it while this one waited for the lock.
        const existing = await readMarker();
        if (existing === marker(o)) return null;
        onGenerate?.(existing === undefined ? 'absent' : 'parameters differ', o);
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

/**
 * The synthetic shapes generator: images of a few shape classes on textured, cluttered backgrounds, with their
 * exact boxes, rendered in memory (no file system, no image codec), so it runs in Node, in a page and in a Web
 * Worker alike. `./shapes.ts` writes its output as a COCO dataset of PNG files.
 *
 * Per image: a background (gradient, colour blobs or stripes), then 1..maxObjects class shapes and
 * 0..maxDistractors distractors (stars, lines, partial class shapes, class shapes not in the class list)
 * drawn in a random order, so later shapes partly cover earlier ones; then Gaussian sensor noise.
 * An annotation's box is the shape's exact geometric extent (so an occluded object keeps its full box);
 * its `area` is its visible pixel count (the pixels with coverage >= 0.5 that no later shape covers, like
 * COCO's mask area); an object with less than `minVisible` of its pixels visible is not annotated.
 *
 * Determinism: every image draws from its own `Random` seeded by (seed, split, index); the same options give
 * the same pixels.
 */
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
import { validateNoiseOptions, type AnnotationNoiseOptions } from './annotationNoise.js';

/** Bumped whenever the generator's output for the same options changes (invalidates `ensureShapesDataset`). */
export const SHAPES_GENERATOR_VERSION = 2;

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
export function mix32(h: number): number {
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

/** Image `index` of `split` (0-based), exactly as the dataset writer renders it. */
export function renderSplitImage(
  o: ResolvedShapesOptions,
  split: 'train' | 'val',
  index: number,
): ShapesImage {
  return renderShapesImage(o, new Random(imageSeed(o.seed, split, index)));
}

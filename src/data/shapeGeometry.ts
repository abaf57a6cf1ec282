/**
 * The geometry of the synthetic shapes: the annotated classes (circle, square, triangle, cross, ring) and
 * the distractors that are never annotated (star, line, and partial class shapes cut by a straight line).
 *
 * Every shape is placed by its centre (cx, cy), its `size` (the diameter of its circumscribed circle, pixels)
 * and a rotation; it is returned as an SDF for the rasteriser and its exact geometric box `[x1, y1, x2, y2]`
 * (pixels), which is the annotation's box: the drawn pixels with coverage >= 0.5 lie inside it.
 */
import type { Random } from '../utils/random.js';
import { placePoints, sdCircle, sdCut, sdPolygon, sdRing, sdSegment, type Sdf } from './raster.js';

/** The shape classes the generator can annotate, in a fixed order. */
export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'cross', 'ring'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

export interface PlacedShape {
  sdf: Sdf;
  /** Geometric extent [x1, y1, x2, y2] in pixels. */
  bboxXyxy: [number, number, number, number];
}

const SQ = Math.SQRT1_2;
/** Unit-frame vertices (circumradius 1). */
const SQUARE = [-SQ, -SQ, SQ, -SQ, SQ, SQ, -SQ, SQ];
const TRIANGLE = [0, -1, Math.cos(Math.PI / 6), 0.5, -Math.cos(Math.PI / 6), 0.5];
/** A plus sign: arms of half-thickness A reaching to L, with L^2 + A^2 = 1. */
const CROSS_A = 0.32 / Math.sqrt(1 + 0.32 * 0.32);
const CROSS_L = 1 / Math.sqrt(1 + 0.32 * 0.32);
const CROSS = ((a: number, l: number) => [
  a,
  l,
  a,
  a,
  l,
  a,
  l,
  -a,
  a,
  -a,
  a,
  -l,
  -a,
  -l,
  -a,
  -a,
  -l,
  -a,
  -l,
  a,
  -a,
  a,
  -a,
  l,
])(CROSS_A, CROSS_L);
/** A five-pointed star, inner radius 0.45. */
const STAR = Array.from({ length: 10 }, (_, k) => {
  const r = k % 2 === 0 ? 1 : 0.45;
  const t = -Math.PI / 2 + (k * Math.PI) / 5;
  return [r * Math.cos(t), r * Math.sin(t)];
}).flat();

function polygon(unit: readonly number[], cx: number, cy: number, size: number, angle: number): PlacedShape {
  const v = placePoints(unit, cx, cy, size / 2, angle);
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (let i = 0; i < v.length; i += 2) {
    x1 = Math.min(x1, v[i]!);
    x2 = Math.max(x2, v[i]!);
    y1 = Math.min(y1, v[i + 1]!);
    y2 = Math.max(y2, v[i + 1]!);
  }
  return { sdf: sdPolygon(v), bboxXyxy: [x1, y1, x2, y2] };
}

/** One class shape; `rng` draws its rotation (and a ring's thickness). */
export function makeClassShape(
  kind: ShapeClass,
  cx: number,
  cy: number,
  size: number,
  rng: Random,
): PlacedShape {
  const r = size / 2;
  switch (kind) {
    case 'circle':
      return { sdf: sdCircle(cx, cy, r), bboxXyxy: [cx - r, cy - r, cx + r, cy + r] };
    case 'ring': {
      // Thickness 30-45 % of the radius (at least 2 px) so that the hole stays visible at small sizes.
      const t = Math.max(2, rng.uniform(0.3, 0.45) * r);
      return { sdf: sdRing(cx, cy, r - t / 2, t), bboxXyxy: [cx - r, cy - r, cx + r, cy + r] };
    }
    case 'square':
      return polygon(SQUARE, cx, cy, size, rng.uniform(0, Math.PI / 2));
    case 'triangle':
      return polygon(TRIANGLE, cx, cy, size, rng.uniform(0, (2 * Math.PI) / 3));
    case 'cross':
      return polygon(CROSS, cx, cy, size, rng.uniform(0, Math.PI / 2));
  }
}

/** The kinds of distractor (never annotated). `other` is a class shape that is not in the class list. */
export type DistractorKind = 'star' | 'line' | 'partial' | 'other';

/**
 * One distractor. `partial` cuts a class shape by a line through a point between 0.05 and 0.45 of the size
 * from its centre, keeping the smaller side (under half of the shape), so it is a hard negative of that class.
 */
export function makeDistractor(
  kind: DistractorKind,
  cx: number,
  cy: number,
  size: number,
  rng: Random,
  classes: readonly ShapeClass[],
): PlacedShape {
  switch (kind) {
    case 'star':
      return polygon(STAR, cx, cy, size, rng.uniform(0, (2 * Math.PI) / 5));
    case 'line': {
      const t = rng.uniform(0, Math.PI);
      const dx = (Math.cos(t) * size) / 2;
      const dy = (Math.sin(t) * size) / 2;
      const hw = rng.uniform(0.75, 1.75);
      return {
        sdf: sdSegment(cx - dx, cy - dy, cx + dx, cy + dy, hw),
        bboxXyxy: [
          cx - Math.abs(dx) - hw,
          cy - Math.abs(dy) - hw,
          cx + Math.abs(dx) + hw,
          cy + Math.abs(dy) + hw,
        ],
      };
    }
    case 'partial': {
      const base = makeClassShape(rng.pick(classes), cx, cy, size, rng);
      const t = rng.uniform(0, 2 * Math.PI);
      const nx = Math.cos(t);
      const ny = Math.sin(t);
      const off = rng.uniform(0.05, 0.45) * (size / 2);
      return { sdf: sdCut(base.sdf, cx - nx * off, cy - ny * off, nx, ny), bboxXyxy: base.bboxXyxy };
    }
    case 'other': {
      const others = SHAPE_CLASSES.filter((c) => !classes.includes(c));
      if (others.length === 0) return makeDistractor('star', cx, cy, size, rng, classes);
      return makeClassShape(rng.pick(others), cx, cy, size, rng);
    }
  }
}

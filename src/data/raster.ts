/**
 * A tiny anti-aliased rasteriser for the synthetic shapes: shapes are signed distance functions (SDF, in
 * pixels, negative inside), and a pixel's coverage is `clamp(0.5 - sdf(pixel centre), 0, 1)`, which is the
 * exact area coverage for an edge through the pixel at any position when the edge is straight and axis-aligned,
 * and a close approximation otherwise.
 *
 * Coordinates are continuous image pixels: pixel (row i, column j) covers [j, j+1) x [i, i+1), centre
 * (j + 0.5, i + 0.5). The canvas holds `Float32Array [H, W, 3]` RGB values in 0..255.
 */

/** Signed distance in pixels from (x, y) to a shape's outline; negative inside. */
export type Sdf = (x: number, y: number) => number;

export interface Canvas {
  /** [height, width, 3] row-major RGB, 0..255 (float while drawing). */
  data: Float32Array;
  width: number;
  height: number;
}

export function makeCanvas(width: number, height: number): Canvas {
  return { data: new Float32Array(width * height * 3), width, height };
}

/** Signed distance to a circle of radius r centred at (cx, cy). */
export function sdCircle(cx: number, cy: number, r: number): Sdf {
  return (x, y) => Math.hypot(x - cx, y - cy) - r;
}

/** Signed distance to a ring (annulus) of mid radius r and thickness t centred at (cx, cy). */
export function sdRing(cx: number, cy: number, r: number, t: number): Sdf {
  return (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) - t / 2;
}

/** Signed distance to a capsule (a thick line segment) from (ax, ay) to (bx, by) with half-width hw. */
export function sdSegment(ax: number, ay: number, bx: number, by: number, hw: number): Sdf {
  const ex = bx - ax;
  const ey = by - ay;
  const ee = ex * ex + ey * ey || 1;
  return (x, y) => {
    const wx = x - ax;
    const wy = y - ay;
    const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / ee));
    return Math.hypot(wx - ex * t, wy - ey * t) - hw;
  };
}

/**
 * Signed distance to a simple polygon (vertices [x0, y0, x1, y1, ...], either winding): the distance to the
 * nearest edge, negative inside by the crossing-number rule (Inigo Quilez's `sdPolygon`).
 */
export function sdPolygon(vertices: readonly number[]): Sdf {
  const n = vertices.length / 2;
  const vx = Float64Array.from({ length: n }, (_, i) => vertices[2 * i]!);
  const vy = Float64Array.from({ length: n }, (_, i) => vertices[2 * i + 1]!);
  return (x, y) => {
    let d = (x - vx[0]!) ** 2 + (y - vy[0]!) ** 2;
    let s = 1;
    for (let i = 0, j = n - 1; i < n; j = i, i++) {
      const ex = vx[j]! - vx[i]!;
      const ey = vy[j]! - vy[i]!;
      const wx = x - vx[i]!;
      const wy = y - vy[i]!;
      const t = Math.min(1, Math.max(0, (wx * ex + wy * ey) / (ex * ex + ey * ey)));
      const bx = wx - ex * t;
      const by = wy - ey * t;
      d = Math.min(d, bx * bx + by * by);
      const c1 = y >= vy[i]!;
      const c2 = y < vy[j]!;
      const c3 = ex * wy > ey * wx;
      if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
    }
    return s * Math.sqrt(d);
  };
}

/** The part of `shape` on the negative side of the line through (px, py) with unit normal (nx, ny). */
export function sdCut(shape: Sdf, px: number, py: number, nx: number, ny: number): Sdf {
  return (x, y) => Math.max(shape(x, y), (x - px) * nx + (y - py) * ny);
}

/** Rotates the unit-frame points [x0, y0, ...] by `angle` (radians), scales by `scale`, moves to (cx, cy). */
export function placePoints(
  points: readonly number[],
  cx: number,
  cy: number,
  scale: number,
  angle: number,
): number[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out: number[] = [];
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i]! * scale;
    const y = points[i + 1]! * scale;
    out.push(cx + c * x - s * y, cy + s * x + c * y);
  }
  return out;
}

/** The coverage of one drawn shape over its pixel window. */
export interface Coverage {
  /** Window [x0, x1) x [y0, y1) in integer pixel columns/rows, clipped to the canvas. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** [y1 - y0, x1 - x0] coverage in 0..1, row-major. */
  alpha: Float32Array;
}

/** Coverage of an SDF over the pixels of `window` = [x1, y1, x2, y2] (continuous, grown by 1 px, clipped). */
export function coverage(canvas: Canvas, sdf: Sdf, window: readonly number[]): Coverage {
  const x0 = Math.max(0, Math.floor(window[0]! - 1));
  const y0 = Math.max(0, Math.floor(window[1]! - 1));
  const x1 = Math.min(canvas.width, Math.ceil(window[2]! + 1));
  const y1 = Math.min(canvas.height, Math.ceil(window[3]! + 1));
  const w = Math.max(0, x1 - x0);
  const h = Math.max(0, y1 - y0);
  const alpha = new Float32Array(w * h);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const a = 0.5 - sdf(x0 + j + 0.5, y0 + i + 0.5);
      alpha[i * w + j] = a <= 0 ? 0 : a >= 1 ? 1 : a;
    }
  }
  return { x0, y0, x1: x0 + w, y1: y0 + h, alpha };
}

/** Blends `color` (RGB 0..255) over the canvas with the given coverage. */
export function paint(canvas: Canvas, cov: Coverage, color: readonly [number, number, number]): void {
  const w = cov.x1 - cov.x0;
  for (let i = cov.y0; i < cov.y1; i++) {
    for (let j = cov.x0; j < cov.x1; j++) {
      const a = cov.alpha[(i - cov.y0) * w + (j - cov.x0)]!;
      if (a === 0) continue;
      const p = (i * canvas.width + j) * 3;
      for (let c = 0; c < 3; c++) canvas.data[p + c] = canvas.data[p + c]! * (1 - a) + color[c]! * a;
    }
  }
}

/** Rounds and clamps the canvas to bytes: `Uint8Array [H, W, 3]`. */
export function toBytes(canvas: Canvas): Uint8Array {
  const out = new Uint8Array(canvas.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round(canvas.data[i]!);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

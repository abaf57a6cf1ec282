/**
 * Textured, cluttered backgrounds for the synthetic shapes: a linear colour gradient, smooth colour blobs
 * (bilinear value noise on a coarse grid), or stripes at a random angle and period, and the sensor noise
 * added over the finished image. All draws come from the given seeded `Random`.
 */
import type { Random } from '../utils/random.js';
import type { Canvas } from './raster.js';

export const BACKGROUND_KINDS = ['gradient', 'blobs', 'stripes'] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

export type Rgb = [number, number, number];

export function randomColor(rng: Random): Rgb {
  return [rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)];
}

/** Fills the canvas with a random background of one of `BACKGROUND_KINDS`; returns the kind. */
export function drawBackground(canvas: Canvas, rng: Random): BackgroundKind {
  const { width: w, height: h, data } = canvas;
  const kind = rng.pick(BACKGROUND_KINDS);
  const c1 = randomColor(rng);
  const c2 = randomColor(rng);
  const set = (i: number, j: number, t: number) => {
    const p = (i * w + j) * 3;
    for (let c = 0; c < 3; c++) data[p + c] = c1[c]! + (c2[c]! - c1[c]!) * t;
  };
  const angle = rng.uniform(0, 2 * Math.PI);
  const ux = Math.cos(angle);
  const uy = Math.sin(angle);
  if (kind === 'gradient') {
    const span = Math.abs(ux) * w + Math.abs(uy) * h;
    const o = Math.min(0, ux * w) + Math.min(0, uy * h);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) set(i, j, (ux * (j + 0.5) + uy * (i + 0.5) - o) / span);
  } else if (kind === 'stripes') {
    const period = rng.uniform(4, 16);
    const amp = rng.uniform(0.3, 1);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        set(i, j, amp * (0.5 + 0.5 * Math.sin((2 * Math.PI * (ux * j + uy * i)) / period)));
      }
    }
  } else {
    // Value noise: random colours on a (g+1) x (g+1) grid, bilinearly interpolated.
    const g = rng.int(2, 5);
    const grid = Array.from({ length: (g + 1) * (g + 1) }, () => randomColor(rng));
    for (let i = 0; i < h; i++) {
      const gy = ((i + 0.5) / h) * g;
      const y0 = Math.min(g - 1, Math.floor(gy));
      const fy = gy - y0;
      for (let j = 0; j < w; j++) {
        const gx = ((j + 0.5) / w) * g;
        const x0 = Math.min(g - 1, Math.floor(gx));
        const fx = gx - x0;
        const a = grid[y0 * (g + 1) + x0]!;
        const b = grid[y0 * (g + 1) + x0 + 1]!;
        const c = grid[(y0 + 1) * (g + 1) + x0]!;
        const d = grid[(y0 + 1) * (g + 1) + x0 + 1]!;
        const p = (i * w + j) * 3;
        for (let k = 0; k < 3; k++) {
          data[p + k] = (a[k]! * (1 - fx) + b[k]! * fx) * (1 - fy) + (c[k]! * (1 - fx) + d[k]! * fx) * fy;
        }
      }
    }
  }
  return kind;
}

/**
 * Adds zero-mean Gaussian noise of standard deviation `sigma` (0..255 units) to every value. Box-Muller,
 * using both of its outputs (cos and sin) for consecutive values.
 */
export function addNoise(canvas: Canvas, sigma: number, rng: Random): void {
  if (sigma <= 0) return;
  const d = canvas.data;
  for (let i = 0; i < d.length; i += 2) {
    const r = sigma * Math.sqrt(-2 * Math.log(1 - rng.next()));
    const t = 2 * Math.PI * rng.next();
    d[i] = d[i]! + r * Math.cos(t);
    if (i + 1 < d.length) d[i + 1] = d[i + 1]! + r * Math.sin(t);
  }
}

/** Mean colour of the canvas over the integer pixel window [x0, x1) x [y0, y1). */
export function meanColor(canvas: Canvas, x0: number, y0: number, x1: number, y1: number): Rgb {
  const m: Rgb = [0, 0, 0];
  let n = 0;
  for (let i = Math.max(0, y0); i < Math.min(canvas.height, y1); i++) {
    for (let j = Math.max(0, x0); j < Math.min(canvas.width, x1); j++) {
      const p = (i * canvas.width + j) * 3;
      for (let c = 0; c < 3; c++) m[c] += canvas.data[p + c]!;
      n++;
    }
  }
  return n === 0 ? m : [m[0] / n, m[1] / n, m[2] / n];
}

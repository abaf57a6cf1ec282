/**
 * Draws detections onto an image file as a PNG: boxes, class names and scores in an SVG overlay composited by
 * sharp. Boxes are xywh in the image's own pixels (the COCO result format).
 */
import sharp from 'sharp';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DrawnBox {
  /** [x, y, width, height] in image pixels. */
  bbox: [number, number, number, number];
  label: string;
  score: number;
}

/** One colour per class index, cycling. */
const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The SVG overlay (same size as the image) for `boxes`; `colorIndex[i]` picks each box's colour. */
export function detectionsSvg(
  width: number,
  height: number,
  boxes: readonly DrawnBox[],
  colorIndex: readonly number[],
): string {
  const font = Math.max(8, Math.round(Math.min(width, height) / 24));
  const stroke = Math.max(1, Math.round(Math.min(width, height) / 200));
  const parts = boxes.map((b, i) => {
    const [x, y, w, h] = b.bbox;
    const color = PALETTE[(colorIndex[i] ?? 0) % PALETTE.length]!;
    const text = escapeXml(`${b.label} ${b.score.toFixed(2)}`);
    const ty = y >= font + 2 ? y - 2 : y + font;
    const tw = Math.round(text.length * font * 0.6) + 4;
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" ` +
      `fill="none" stroke="${color}" stroke-width="${stroke}"/>` +
      `<rect x="${x.toFixed(1)}" y="${(ty - font + 1).toFixed(1)}" width="${tw}" height="${font + 2}" fill="${color}" fill-opacity="0.7"/>` +
      `<text x="${(x + 2).toFixed(1)}" y="${ty.toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${text}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Small images are enlarged (nearest neighbour) until the long side is at least this, so labels stay legible. */
export const MIN_DRAW_SIDE = 512;

/** Writes `imagePath` with `boxes` drawn to `outPath` (PNG), creating the folder. */
export async function drawDetections(
  imagePath: string,
  boxes: readonly DrawnBox[],
  colorIndex: readonly number[],
  outPath: string,
): Promise<void> {
  const meta = await sharp(imagePath).metadata();
  const width = meta.width;
  const height = meta.height;
  if (width === undefined || height === undefined)
    throw new Error(`drawDetections: ${imagePath} has no size`);
  const scale = Math.max(1, Math.ceil(MIN_DRAW_SIDE / Math.max(width, height)));
  const scaled = boxes.map((b) => ({ ...b, bbox: b.bbox.map((v) => v * scale) as DrawnBox['bbox'] }));
  const svg = detectionsSvg(width * scale, height * scale, scaled, colorIndex);
  await mkdir(dirname(outPath), { recursive: true });
  const base = await sharp(imagePath)
    .removeAlpha()
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
  await sharp(base)
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toFile(outPath);
}

/**
 * Images with detections drawn (a run folder's `drawn/`), embedded in the report as `data:` URIs so the page
 * stays one self-contained file. The page sizes them; images narrower than the space they get (the 64 px
 * shapes, when not already enlarged) are marked to be scaled up with hard pixel edges instead of blurred.
 */
import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import sharp from 'sharp';
import { escapeHtml } from './html.js';

/** Images narrower than this (pixels) get the class `pixelated`. */
export const PIXELATED_BELOW = 256;

const MIME: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg' };

/**
 * The image inline with its file name under it (a `<div>`, not a `<figure>`: the report's figures are its
 * plots). Throws, naming the file, when it is not a PNG or JPEG.
 */
export async function drawnImageHtml(path: string): Promise<string> {
  const bytes = await fs.readFile(path);
  const meta = await sharp(bytes).metadata();
  const mime = MIME[meta.format];
  if (mime === undefined) throw new Error(`${path}: expected a PNG or JPEG image, got ${meta.format}`);
  const name = basename(path);
  return [
    '<div class="drawn-image">',
    `<img src="data:${mime};base64,${bytes.toString('base64')}" width="${meta.width}" height="${meta.height}"` +
      `${meta.width < PIXELATED_BELOW ? ' class="pixelated"' : ''} alt="${escapeHtml(name)} with its detections drawn">`,
    `<div class="caption">${escapeHtml(name)}</div>`,
    '</div>',
  ].join('');
}

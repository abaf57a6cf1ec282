/**
 * Image files <-> raw RGB bytes, through `sharp` (JPEG and PNG, and whatever else libvips reads).
 *
 * A decoded image is `data: Uint8Array [H, W, 3]` (row-major, RGB, 0..255). Grey images are expanded to RGB
 * and an alpha channel is dropped; EXIF orientation is not applied (as COCO tools do not apply it).
 */
import sharp, { type OutputInfo } from 'sharp';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RgbImage } from './sample.js';

export type { RgbImage } from './sample.js';

/**
 * Decodes an image file to RGB. `expected` (the size the annotation file records) is checked when given.
 * `where` names the record in errors, e.g. `image id 12`.
 */
export async function decodeImageFile(
  path: string,
  where: string,
  expected?: { width: number; height: number },
): Promise<RgbImage> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const msg = (e as Error).message;
    const missing = /missing|no such file|ENOENT/i.test(msg);
    throw new Error(
      `image file ${path} (${where}) ${missing ? 'does not exist' : 'could not be decoded'}: ${msg}` +
        (missing ? '' : '; is it a complete JPEG or PNG file?'),
    );
  }
  const { width, height, channels } = out.info;
  if (channels !== 3) {
    throw new Error(`image file ${path} (${where}) decoded to ${channels} channels, expected 3 (RGB)`);
  }
  if (expected !== undefined && (expected.width !== width || expected.height !== height)) {
    throw new Error(
      `image file ${path} (${where}) is ${width}x${height} pixels but the annotations say ` +
        `${expected.width}x${expected.height}; the boxes would be wrong, so the annotation file or the image is out of date`,
    );
  }
  return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), width, height };
}

/** Encodes an RGB image as PNG at `path` (creating the directory). Deterministic bytes for the same pixels. */
export async function writePng(image: RgbImage, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toFile(path);
}

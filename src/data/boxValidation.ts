/**
 * The box checks every dataset reader applies, in one place, so COCO and VOC data are held to the same rules.
 *
 * - a non-finite coordinate, a negative width/height, or a box entirely outside the image: an error naming
 *   the record (a wrong box must never be trained on silently);
 * - a zero width or height: skipped, with a counted warning (pycocotools-style data often has them, and
 *   users expect them to be dropped);
 * - a box partly outside the image: clipped to [0, W] x [0, H], with a counted warning.
 */
import type { DataWarnings } from './warnings.js';

export const WARN_ZERO_AREA = 'zero-area box skipped';
export const WARN_CLIPPED = 'box partly outside the image clipped to it';

/**
 * Checks one box `[x1, y1, x2, y2]` (pixels, continuous coordinates) against an image of `width` x `height`.
 * Returns the (possibly clipped) box, or `null` when it is to be skipped; throws for an invalid box.
 * `where` names the record in messages, e.g. `instances.json: annotation id 7 (image id 3)`.
 */
export function checkBoxXyxy(
  box: readonly [number, number, number, number],
  width: number,
  height: number,
  where: string,
  warnings: DataWarnings,
): [number, number, number, number] | null {
  const [x1, y1, x2, y2] = box;
  if (!box.every(Number.isFinite)) {
    throw new Error(`${where}: box has a non-finite coordinate, got [${box.join(', ')}] (xyxy)`);
  }
  const w = x2 - x1;
  const h = y2 - y1;
  if (w < 0 || h < 0) {
    throw new Error(
      `${where}: box has a negative size, got width ${w} and height ${h} from [${box.join(', ')}] (xyxy); ` +
        `expected x2 >= x1 and y2 >= y1`,
    );
  }
  if (w === 0 || h === 0) {
    warnings.add(WARN_ZERO_AREA, where);
    return null;
  }
  if (x2 <= 0 || y2 <= 0 || x1 >= width || y1 >= height) {
    throw new Error(
      `${where}: box [${box.join(', ')}] (xyxy) lies entirely outside the ${width}x${height} image; ` +
        `are the image's width/height or the box coordinates wrong?`,
    );
  }
  if (x1 < 0 || y1 < 0 || x2 > width || y2 > height) {
    warnings.add(WARN_CLIPPED, where);
    return [Math.max(0, x1), Math.max(0, y1), Math.min(width, x2), Math.min(height, y2)];
  }
  return [x1, y1, x2, y2];
}

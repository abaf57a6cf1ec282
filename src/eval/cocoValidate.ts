/**
 * Input validation for the COCO evaluator, at the public boundary. Errors name the record (`annotations[12]`,
 * `dets[3]`), the field, what was expected and what was got, so a malformed file is fixed at the right line.
 * Everything past this point trusts its input.
 */
import type { CocoDetection, CocoGroundTruth } from './cocoTypes.js';

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v;
}

function fail(where: string, field: string, expected: string, got: unknown, hint = ''): never {
  throw new Error(`${where}.${field}: expected ${expected}, got ${describe(got)}${hint ? `; ${hint}` : ''}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFinite(where: string, rec: Record<string, unknown>, field: string): void {
  const v = rec[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, field, 'a finite number', v);
}

/** Checks an xywh box: 4 finite numbers, width and height >= 0. */
function checkBoxXywh(where: string, rec: Record<string, unknown>): void {
  const b = rec['bbox'];
  if (!Array.isArray(b) || b.length !== 4) {
    fail(where, 'bbox', 'an xywh box [x, y, width, height] (4 numbers)', b);
  }
  for (let j = 0; j < 4; j++) {
    const v: unknown = b[j];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `bbox[${j}]`, 'a finite number', v);
  }
  if ((b[2] as number) < 0 || (b[3] as number) < 0) {
    fail(
      where,
      'bbox',
      'width and height >= 0 (xywh)',
      `[${b.join(', ')}]`,
      'is the box xyxy instead of xywh?',
    );
  }
}

/** Throws on a malformed ground-truth dictionary; see `CocoGroundTruth` for the expected fields. */
export function validateCocoGroundTruth(gt: unknown): asserts gt is CocoGroundTruth {
  if (!isRecord(gt)) throw new Error(`gt: expected a COCO ground-truth object, got ${describe(gt)}`);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(gt[key])) fail('gt', key, 'an array', gt[key]);
  }
  const images = gt['images'] as unknown[];
  for (let i = 0; i < images.length; i++) {
    const r = images[i];
    if (!isRecord(r)) fail('gt', `images[${i}]`, 'an object', r);
    checkFinite(`gt.images[${i}]`, r, 'id');
  }
  const categories = gt['categories'] as unknown[];
  for (let i = 0; i < categories.length; i++) {
    const r = categories[i];
    if (!isRecord(r)) fail('gt', `categories[${i}]`, 'an object', r);
    checkFinite(`gt.categories[${i}]`, r, 'id');
  }
  const anns = gt['annotations'] as unknown[];
  const annIndex = new Map<number, number>();
  for (let i = 0; i < anns.length; i++) {
    const r = anns[i];
    const where = `gt.annotations[${i}]`;
    if (!isRecord(r)) fail('gt', `annotations[${i}]`, 'an object', r);
    for (const f of ['id', 'image_id', 'category_id']) checkFinite(where, r, f);
    // pycocotools' index is a dict by id: of two annotations with one id it scores the later one twice.
    const id = r['id'] as number;
    const first = annIndex.get(id);
    if (first !== undefined)
      throw new Error(
        `${where}.id: ${id} repeats gt.annotations[${first}].id; pycocotools keys annotations by id and would ` +
          'score a different set of boxes, so give every annotation a unique id',
      );
    annIndex.set(id, i);
    checkBoxXywh(where, r);
    const area = r['area'];
    if (typeof area !== 'number' || !Number.isFinite(area) || area < 0) {
      fail(where, 'area', 'a finite number >= 0 (the object area in square pixels)', area);
    }
    const crowd = r['iscrowd'];
    if (crowd !== undefined && crowd !== 0 && crowd !== 1 && typeof crowd !== 'boolean') {
      fail(where, 'iscrowd', '0, 1, true, false or absent', crowd);
    }
  }
}

/** Throws on a malformed result list; see `CocoDetection` for the expected fields. */
export function validateCocoDetections(dets: unknown): asserts dets is CocoDetection[] {
  if (!Array.isArray(dets))
    throw new Error(`dets: expected an array of COCO detections, got ${describe(dets)}`);
  for (let i = 0; i < dets.length; i++) {
    const r: unknown = dets[i];
    const where = `dets[${i}]`;
    if (!isRecord(r)) throw new Error(`${where}: expected a detection object, got ${describe(r)}`);
    checkFinite(where, r, 'image_id');
    checkFinite(where, r, 'category_id');
    checkBoxXywh(where, r);
    checkFinite(where, r, 'score');
  }
}

/**
 * Throws unless every detection's image is in the ground truth, as pycocotools' `loadRes` does ("Results do not
 * correspond to current coco set"): results of another split would otherwise score AP 0 without a word.
 * Inputs must be valid.
 */
export function checkDetectionImages(gt: CocoGroundTruth, dets: readonly CocoDetection[]): void {
  const imageIds = new Set(gt.images.map((im) => im.id));
  const unknown = new Set<number>();
  let count = 0;
  for (const d of dets) {
    if (imageIds.has(d.image_id)) continue;
    count++;
    unknown.add(d.image_id);
  }
  if (count === 0) return;
  const ids = [...unknown].sort((a, b) => a - b);
  throw new Error(
    `Results do not correspond to current coco set: ${count} of ${dets.length} detections have an image_id that ` +
      `is not in the ground truth (${imageIds.size} images): ${ids.slice(0, 5).join(', ')}` +
      `${ids.length > 5 ? `, ... (${ids.length} ids)` : ''}; check that the detections were made on the same ` +
      'split as the ground truth and that their image ids follow its numbering (allowExtraImages / ' +
      '--allow-extra-images ignores such detections instead)',
  );
}

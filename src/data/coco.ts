/**
 * COCO "instances" JSON (detection ground truth) <-> the in-memory `DetectionDataset`.
 *
 * The file speaks bbox `[x, y, w, h]` in pixels; the dataset holds `bboxXyxy = [x, y, x + w, y + h]`.
 * Category ids may be non-contiguous (COCO's own are 1..90 with gaps); they are sorted ascending and mapped
 * to contiguous class indices 0..numClasses-1 (`CategoryMap`), without a background class.
 *
 * Validation (see boxValidation.ts for the box rules): malformed JSON, a missing or mistyped field,
 * duplicate ids, and annotations that point at unknown images or categories are errors naming the file and
 * the record. Missing `iscrowd` (taken as 0) and missing `area` (taken as w*h) are counted warnings.
 * Images are checked to exist on disk unless `checkImages: 'none'`; decoding happens in the loader.
 */
import { readFile, writeFile, mkdir, access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CategoryMap, toCocoGroundTruth } from './dataset.js';
import type { DatasetCategory, DatasetImage, DetectionDataset } from './dataset.js';
import { DataWarnings } from './warnings.js';
import { checkBoxXyxy } from './boxValidation.js';

export const WARN_ISCROWD_MISSING = 'annotation without iscrowd taken as iscrowd 0';
export const WARN_AREA_MISSING = 'annotation without area given area w*h';

export interface CocoParseOptions {
  /** Directory the images' `file_name`s are relative to. */
  imageRoot: string;
  /** Name of the source in messages (usually the file's base name). Default `COCO JSON`. */
  source?: string;
}

export interface ReadCocoOptions {
  /** Path of the instances JSON file. */
  annotationFile: string;
  /** Directory the images' `file_name`s are relative to. */
  imageRoot: string;
  /** `exists` (default): every image file must exist; `none`: do not look at the image files here. */
  checkImages?: 'exists' | 'none';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function field<T>(rec: Obj, key: string, where: string, expected: string, ok: (v: unknown) => v is T): T {
  const v = rec[key];
  if (!ok(v)) throw new Error(`${where}: field "${key}" must be ${expected}, got ${describe(v)}`);
  return v;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isPosInt = (v: unknown): v is number => isInt(v) && v > 0;
const isString = (v: unknown): v is string => typeof v === 'string';
const isFiniteNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBbox = (v: unknown): v is [number, number, number, number] =>
  Array.isArray(v) && v.length === 4 && v.every((x) => typeof x === 'number');

/** Builds a dataset from a parsed COCO ground-truth object (the content of an instances JSON file). */
export function parseCocoGroundTruth(json: unknown, options: CocoParseOptions): DetectionDataset {
  const src = options.source ?? 'COCO JSON';
  if (!isObj(json)) throw new Error(`${src}: expected a JSON object at the top level, got ${describe(json)}`);
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(json[key])) {
      throw new Error(
        `${src}: top-level field "${key}" must be an array, got ${describe(json[key])}; is this a COCO instances file?`,
      );
    }
  }
  const warnings = new DataWarnings();

  const cats: DatasetCategory[] = [];
  const seenCat = new Set<number>();
  for (const [i, c] of (json['categories'] as unknown[]).entries()) {
    const where = `${src}: categories[${i}]`;
    if (!isObj(c)) throw new Error(`${where}: expected an object, got ${describe(c)}`);
    const id = field(c, 'id', where, 'an integer', isInt);
    const name = field(c, 'name', `${where} (id ${id})`, 'a string', isString);
    if (seenCat.has(id)) throw new Error(`${where}: duplicate category id ${id}`);
    seenCat.add(id);
    const sc = c['supercategory'];
    cats.push({ id, name, ...(typeof sc === 'string' ? { supercategory: sc } : {}) });
  }
  cats.sort((a, b) => a.id - b.id);
  const catMap = new CategoryMap(cats);

  const images: DatasetImage[] = [];
  const byId = new Map<number, DatasetImage>();
  for (const [i, im] of (json['images'] as unknown[]).entries()) {
    const where = `${src}: images[${i}]`;
    if (!isObj(im)) throw new Error(`${where}: expected an object, got ${describe(im)}`);
    const id = field(im, 'id', where, 'an integer', isInt);
    const w2 = `${src}: image id ${id}`;
    const fileName = field(im, 'file_name', w2, 'a string', isString);
    const width = field(im, 'width', w2, 'a positive integer', isPosInt);
    const height = field(im, 'height', w2, 'a positive integer', isPosInt);
    if (byId.has(id)) throw new Error(`${where}: duplicate image id ${id}`);
    const img: DatasetImage = { id, fileName, width, height, annotations: [] };
    byId.set(id, img);
    images.push(img);
  }

  const seenAnn = new Set<number>();
  for (const [i, a] of (json['annotations'] as unknown[]).entries()) {
    const where0 = `${src}: annotations[${i}]`;
    if (!isObj(a)) throw new Error(`${where0}: expected an object, got ${describe(a)}`);
    const id = field(a, 'id', where0, 'an integer', isInt);
    const where = `${src}: annotation id ${id}`;
    if (seenAnn.has(id)) throw new Error(`${where0}: duplicate annotation id ${id}`);
    seenAnn.add(id);
    const imageId = field(a, 'image_id', where, 'an integer', isInt);
    const categoryId = field(a, 'category_id', where, 'an integer', isInt);
    const bbox = field(a, 'bbox', where, 'an array of 4 numbers [x, y, w, h]', isBbox);
    const img = byId.get(imageId);
    if (img === undefined) {
      throw new Error(`${where}: image_id ${imageId} is not in "images"; is the annotation file truncated?`);
    }
    const classIndex = catMap.classIndex(categoryId);
    if (classIndex === undefined) {
      throw new Error(
        `${where} (image id ${imageId}): category_id ${categoryId} is not in "categories" ` +
          `(known: ${cats.map((c) => c.id).join(', ')})`,
      );
    }
    const at = `${where} (image id ${imageId})`;
    let iscrowd = false;
    if (a['iscrowd'] === undefined) warnings.add(WARN_ISCROWD_MISSING, at);
    else if (a['iscrowd'] === 0 || a['iscrowd'] === 1 || typeof a['iscrowd'] === 'boolean') {
      iscrowd = Boolean(a['iscrowd']);
    } else throw new Error(`${at}: field "iscrowd" must be 0 or 1, got ${describe(a['iscrowd'])}`);
    const [x, y, w, h] = bbox;
    const box = checkBoxXyxy([x, y, x + w, y + h], img.width, img.height, at, warnings);
    if (box === null) continue;
    let area: number;
    if (a['area'] === undefined) {
      warnings.add(WARN_AREA_MISSING, at);
      area = w * h;
    } else area = field(a, 'area', at, 'a finite number', isFiniteNum);
    img.annotations.push({ id, bboxXyxy: box, classIndex, categoryId, iscrowd, area });
  }

  const info = json['info'];
  return {
    categories: cats,
    images,
    root: options.imageRoot,
    warnings,
    ...(isObj(info) ? { info } : {}),
  };
}

/** Reads and validates a COCO instances JSON file; see the module comment for the rules. */
export async function readCocoDataset(options: ReadCocoOptions): Promise<DetectionDataset> {
  const file = options.annotationFile;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`COCO annotation file ${file} could not be read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`COCO annotation file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const dataset = parseCocoGroundTruth(json, { imageRoot: options.imageRoot, source: basename(file) });
  if ((options.checkImages ?? 'exists') === 'exists') await checkImageFilesExist(dataset, basename(file));
  return dataset;
}

/** Throws, naming up to three missing files and the count, unless every image file of the dataset exists. */
export async function checkImageFilesExist(dataset: DetectionDataset, source: string): Promise<void> {
  const missing: string[] = [];
  await Promise.all(
    dataset.images.map(async (img) => {
      try {
        await access(join(dataset.root, img.fileName));
      } catch {
        missing.push(`${join(dataset.root, img.fileName)} (image id ${img.id})`);
      }
    }),
  );
  if (missing.length > 0) {
    missing.sort();
    throw new Error(
      `${source}: ${missing.length} of ${dataset.images.length} image files do not exist, e.g. ` +
        `${missing.slice(0, 3).join(', ')}; is the image root ${dataset.root} right?`,
    );
  }
}

/** Writes the dataset as a COCO instances JSON file (creating the directory), via `toCocoGroundTruth`. */
export async function writeCocoDataset(dataset: DetectionDataset, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(toCocoGroundTruth(dataset)));
}

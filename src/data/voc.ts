/**
 * Pascal VOC (XML per image under `Annotations/`, images under `JPEGImages/`, the split's image names in
 * `ImageSets/Main/<split>.txt`) -> the in-memory `DetectionDataset`.
 *
 * Coordinates: VOC's `xmin, ymin, xmax, ymax` are 1-based, inclusive pixel indices (a box over the whole
 * W x H image is xmin=1, xmax=W). In ghmdet's continuous 0-based coordinates that box is [0, W], so the
 * conversion is `x1 = xmin - 1, y1 = ymin - 1, x2 = xmax, y2 = ymax` (detectron2's `pascal_voc.py` does the
 * same; the box's width is then xmax - xmin + 1). Fractional values are kept as they are.
 *
 * `difficult` objects are kept with `difficult: true` (VOC evaluation ignores them; the loader marks them
 * ignored). Category ids are the 1-based positions in the class list; images get ids 1, 2, ... in list order
 * and keep their VOC name in `sourceId`. `area` is (x2 - x1) * (y2 - y1).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { DatasetCategory, DatasetImage, DetectionDataset } from './dataset.js';
import { DataWarnings } from './warnings.js';
import { checkBoxXyxy } from './boxValidation.js';
import { checkImageFilesExist } from './coco.js';

/** The 20 Pascal VOC classes in their usual order. */
export const VOC_CLASSES = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
] as const; // prettier-ignore

export interface ReadVocOptions {
  /** The VOC year directory, e.g. `VOCdevkit/VOC2007`. */
  root: string;
  /** The split list name under ImageSets/Main, e.g. `trainval` or `test`. */
  split: string;
  /** Class names; category id = position + 1. Default `VOC_CLASSES`. */
  classes?: readonly string[];
  /** Image file extension under JPEGImages. Default `.jpg`. */
  imageExtension?: string;
  /** `exists` (default): every image file must exist; `none`: do not look at the image files here. */
  checkImages?: 'exists' | 'none';
}

type Obj = Record<string, unknown>;
const parser = new XMLParser({
  isArray: (name) => name === 'object',
  parseTagValue: false,
  trimValues: true,
});

function num(v: unknown, where: string, what: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) {
    throw new Error(
      `${where}: <${what}> must be a number, got ${v === undefined ? 'nothing (missing)' : JSON.stringify(v)}`,
    );
  }
  return n;
}

/** Parses one VOC XML document into an image record (annotation ids from `nextAnnId`, advanced). */
export function parseVocXml(
  xml: string,
  options: {
    source: string;
    imageId: number;
    fileName: string;
    sourceId: string;
    categories: readonly DatasetCategory[];
    nextAnnId: { value: number };
    warnings: DataWarnings;
  },
): DatasetImage {
  const src = options.source;
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new Error(`${src}: malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  const doc = parser.parse(xml) as Obj;
  const ann = doc['annotation'] as Obj | undefined;
  if (typeof ann !== 'object' || ann === null) throw new Error(`${src}: no <annotation> root element`);
  const size = ann['size'] as Obj | undefined;
  if (typeof size !== 'object' || size === null) throw new Error(`${src}: no <size> element`);
  const width = num(size['width'], src, 'size/width');
  const height = num(size['height'], src, 'size/height');
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`${src}: <size> must hold positive integer width and height, got ${width}x${height}`);
  }
  const byName = new Map(options.categories.map((c, i) => [c.name, i]));
  const img: DatasetImage = {
    id: options.imageId,
    fileName: options.fileName,
    width,
    height,
    sourceId: options.sourceId,
    annotations: [],
  };
  const objects = (ann['object'] as unknown[] | undefined) ?? [];
  objects.forEach((o, k) => {
    const where = `${src}: object ${k + 1}`;
    if (typeof o !== 'object' || o === null)
      throw new Error(`${where}: expected an element with <name> and <bndbox>`);
    const obj = o as Obj;
    const name = obj['name'];
    // A repeated tag parses as an array; VOC has one of each per object.
    if (Array.isArray(name))
      throw new Error(
        `${where}: ${name.length} <name> elements (${name.map((n) => JSON.stringify(n)).join(', ')}), ` +
          'expected one per <object>',
      );
    if (typeof name !== 'string') throw new Error(`${where}: <name> is missing`);
    const classIndex = byName.get(name);
    if (classIndex === undefined) {
      throw new Error(
        `${where}: class "${name}" is not in the class list (${options.categories.map((c) => c.name).join(', ')}); ` +
          `pass the dataset's classes`,
      );
    }
    const bb = obj['bndbox'] as Obj | undefined;
    if (Array.isArray(bb))
      throw new Error(`${where} ("${name}"): ${bb.length} <bndbox> elements, expected one per <object>`);
    if (typeof bb !== 'object' || bb === null) throw new Error(`${where} ("${name}"): <bndbox> is missing`);
    for (const c of ['xmin', 'ymin', 'xmax', 'ymax'])
      if (Array.isArray(bb[c]))
        throw new Error(
          `${where}: <bndbox/${c}> appears ${(bb[c] as unknown[]).length} times, expected once`,
        );
    const xmin = num(bb['xmin'], where, 'bndbox/xmin');
    const ymin = num(bb['ymin'], where, 'bndbox/ymin');
    const xmax = num(bb['xmax'], where, 'bndbox/xmax');
    const ymax = num(bb['ymax'], where, 'bndbox/ymax');
    const diff = obj['difficult'];
    const difficult = diff !== undefined && num(diff, where, 'difficult') !== 0;
    // 1-based inclusive pixel indices -> continuous 0-based coordinates (see the module comment).
    const box = checkBoxXyxy([xmin - 1, ymin - 1, xmax, ymax], width, height, where, options.warnings);
    if (box === null) return;
    img.annotations.push({
      id: options.nextAnnId.value++,
      bboxXyxy: box,
      classIndex,
      categoryId: options.categories[classIndex]!.id,
      iscrowd: false,
      area: (box[2] - box[0]) * (box[3] - box[1]),
      difficult,
    });
  });
  return img;
}

/** Reads a VOC split; see the module comment for the conventions. */
export async function readVocDataset(options: ReadVocOptions): Promise<DetectionDataset> {
  const classes = options.classes ?? VOC_CLASSES;
  if (classes.length === 0 || new Set(classes).size !== classes.length) {
    throw new Error(`readVocDataset: classes must be non-empty and distinct, got [${classes.join(', ')}]`);
  }
  const categories = classes.map((name, i) => ({ id: i + 1, name }));
  const listFile = join(options.root, 'ImageSets', 'Main', `${options.split}.txt`);
  let list: string;
  try {
    list = await readFile(listFile, 'utf8');
  } catch (e) {
    throw new Error(
      `VOC split list ${listFile} could not be read: ${(e as Error).message}; is root a VOC year directory?`,
    );
  }
  const names: string[] = [];
  const lineOf = new Map<string, number>();
  for (const [i, line] of list.split(/\r?\n/).entries()) {
    const name = line.trim().split(/\s+/)[0]!;
    if (name === '') continue;
    const first = lineOf.get(name);
    if (first !== undefined)
      throw new Error(
        `${listFile}: line ${i + 1} lists ${JSON.stringify(name)} again (first on line ${first}); each image ` +
          'must be listed once, or it would be trained on and scored twice',
      );
    lineOf.set(name, i + 1);
    names.push(name);
  }
  const warnings = new DataWarnings();
  const nextAnnId = { value: 1 };
  const ext = options.imageExtension ?? '.jpg';
  const images: DatasetImage[] = [];
  for (const [i, name] of names.entries()) {
    const xmlFile = join(options.root, 'Annotations', `${name}.xml`);
    let xml: string;
    try {
      xml = await readFile(xmlFile, 'utf8');
    } catch (e) {
      throw new Error(
        `VOC annotation ${xmlFile} (listed in ${listFile}) could not be read: ${(e as Error).message}`,
      );
    }
    images.push(
      parseVocXml(xml, {
        source: xmlFile,
        imageId: i + 1,
        fileName: join('JPEGImages', `${name}${ext}`),
        sourceId: name,
        categories,
        nextAnnId,
        warnings,
      }),
    );
  }
  const dataset: DetectionDataset = { categories, images, root: options.root, warnings };
  if ((options.checkImages ?? 'exists') === 'exists') await checkImageFilesExist(dataset, listFile);
  return dataset;
}

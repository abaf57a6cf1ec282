/**
 * The one in-memory detection dataset that every reader (COCO JSON, Pascal VOC, the synthetic shapes) produces
 * and that the loader and the evaluators consume.
 *
 * Box format: internally `bboxXyxy = [x1, y1, x2, y2]` in continuous pixel coordinates of the original image,
 * 0-based, with pixel (row i, column j) covering [j, j+1) x [i, i+1); so a box over the whole W x H image is
 * [0, 0, W, H] and its width is x2 - x1 (no "+1"). COCO files speak xywh in the same coordinates; the VOC
 * reader converts VOC's 1-based inclusive pixel indices explicitly (see voc.ts).
 *
 * Classes: `numClasses = categories.length`, class index k in 0..numClasses-1 is `categories[k]`, and the
 * categories are sorted by ascending category id (as pycocotools' `getCatIds()` and mmdetection's `cat2label`).
 * There is no background class in this numbering.
 */
import type { DataWarnings } from './warnings.js';
import type { CocoAnnotation, CocoGroundTruth } from '../eval/cocoTypes.js';

/** One category of a dataset: its file id (COCO ids need not be contiguous) and name. */
export interface DatasetCategory {
  /** The category id used in the annotation file (COCO `category_id`; VOC: 1-based position in the class list). */
  id: number;
  name: string;
  supercategory?: string;
}

/** One ground-truth object. */
export interface DatasetAnnotation {
  /** Annotation id, unique in the dataset (COCO `id`; VOC: assigned 1, 2, ... in reading order). */
  id: number;
  /** [x1, y1, x2, y2] in original-image pixels, x1 < x2, y1 < y2, inside [0, width] x [0, height]. */
  bboxXyxy: [number, number, number, number];
  /** Contiguous class index in 0..numClasses-1 (position of the category in `dataset.categories`). */
  classIndex: number;
  /** The file's category id (`dataset.categories[classIndex].id`). */
  categoryId: number;
  /** COCO `iscrowd`: a region of many instances, ignored by training assigners and matched specially by COCO eval. */
  iscrowd: boolean;
  /** COCO `area` (segment area in pixels^2; for boxes-only data w*h). COCO evaluation's size ranges use it. */
  area: number;
  /** Pascal VOC `difficult`: kept so that VOC evaluation can ignore these objects; absent for COCO data. */
  difficult?: boolean;
}

/** One image and its objects. */
export interface DatasetImage {
  /** Image id, unique in the dataset (COCO `id`; VOC: 1, 2, ... in the order of the split list). */
  id: number;
  /** Path of the image file relative to `dataset.root` (COCO `file_name`). */
  fileName: string;
  /** Original size in pixels, as recorded in the annotation file and checked when the image is decoded. */
  width: number;
  height: number;
  /** The source's own image name where it is not a number (VOC: the line of ImageSets/Main/<split>.txt). */
  sourceId?: string;
  annotations: DatasetAnnotation[];
}

export interface DetectionDataset {
  /** Sorted by ascending id; index in this array = class index. */
  categories: DatasetCategory[];
  images: DatasetImage[];
  /** Directory that `images[i].fileName` is relative to. */
  root: string;
  /** The counted problems found while reading (skipped or clipped boxes, defaults filled in). */
  warnings: DataWarnings;
  /** The file's `info` object, when it has one (the shapes generator records its parameters there). */
  info?: Record<string, unknown>;
}

/**
 * The category id <-> class index mapping of a category list (which must be sorted by ascending id,
 * as every reader returns it).
 */
export class CategoryMap {
  private readonly idToIndex = new Map<number, number>();

  constructor(readonly categories: readonly DatasetCategory[]) {
    categories.forEach((c, i) => {
      if (i > 0 && c.id <= categories[i - 1]!.id) {
        throw new Error(
          `CategoryMap: categories must be sorted by strictly ascending id, got id ${c.id} after ${categories[i - 1]!.id}`,
        );
      }
      this.idToIndex.set(c.id, i);
    });
  }

  /** Class index (0..numClasses-1) of a category id, or undefined for an unknown id. */
  classIndex(categoryId: number): number | undefined {
    return this.idToIndex.get(categoryId);
  }

  /** Category id of a class index; throws for an index outside 0..numClasses-1. */
  categoryId(classIndex: number): number {
    const c = this.categories[classIndex];
    if (c === undefined || !Number.isInteger(classIndex)) {
      throw new Error(
        `CategoryMap.categoryId: class index must be an integer in 0..${this.categories.length - 1}, got ${classIndex}`,
      );
    }
    return c.id;
  }
}

/**
 * A COCO ground-truth dict as ghmdet writes it: the evaluator's `CocoGroundTruth` (bbox xywh) plus the file's
 * `info` and, for VOC data, `difficult: 1` on difficult objects (a ghmdet extension; pycocotools ignores it).
 */
export interface CocoGroundTruthFile extends CocoGroundTruth {
  info?: Record<string, unknown>;
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: (CocoAnnotation & { iscrowd: number; difficult?: number })[];
  categories: { id: number; name: string; supercategory?: string }[];
}

/** Rounds a coordinate to 1e-6 pixel so that xyxy -> xywh -> xyxy round trips are exact. */
function roundCoord(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/**
 * The dataset as a COCO ground-truth dict (bbox converted xyxy -> xywh, coordinates rounded to 1e-6 px),
 * for the COCO evaluator or to write a COCO file.
 */
export function toCocoGroundTruth(dataset: DetectionDataset): CocoGroundTruthFile {
  const gt: CocoGroundTruthFile = {
    images: [],
    annotations: [],
    categories: dataset.categories.map((c) => ({
      id: c.id,
      name: c.name,
      ...(c.supercategory !== undefined ? { supercategory: c.supercategory } : {}),
    })),
  };
  if (dataset.info !== undefined) gt.info = dataset.info;
  for (const img of dataset.images) {
    gt.images.push({ id: img.id, file_name: img.fileName, width: img.width, height: img.height });
    for (const a of img.annotations) {
      const [x1, y1, x2, y2] = a.bboxXyxy;
      const x = roundCoord(x1);
      const y = roundCoord(y1);
      gt.annotations.push({
        id: a.id,
        image_id: img.id,
        category_id: a.categoryId,
        bbox: [x, y, roundCoord(roundCoord(x2) - x), roundCoord(roundCoord(y2) - y)],
        area: a.area,
        iscrowd: a.iscrowd ? 1 : 0,
        ...(a.difficult !== undefined ? { difficult: a.difficult ? 1 : 0 } : {}),
      });
    }
  }
  return gt;
}

/**
 * Validation of a detector on a `DetectionDataset` with the COCO bbox metrics: decode the images once, run
 * `detect` on each (boxes xywh in the image's own pixels), turn the detections into a COCO result list and
 * score it with `evaluateCoco`. Also the trainer's periodic evaluation hook.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCocoDataset } from '../data/coco.js';
import { decodeImageFile, type RgbImage } from '../data/image.js';
import { toCocoGroundTruth, type DatasetImage, type DetectionDataset } from '../data/dataset.js';
import { ALL_DETECTIONS, type RetinaNet } from '../detector/retinaNet.js';
import { evaluateCoco, type CocoEvalResult } from '../eval/cocoEval.js';
import type { CocoDetection, CocoGroundTruth } from '../eval/cocoTypes.js';
import type { EvalHook } from './trainer.js';

/** A decoded image of a dataset. */
export interface LoadedImage {
  image: DatasetImage;
  pixels: RgbImage;
}

/** Decodes the first `maxImages` images of `dataset` (all when undefined). */
export async function loadDatasetImages(
  dataset: DetectionDataset,
  maxImages?: number,
): Promise<LoadedImage[]> {
  const images = maxImages === undefined ? dataset.images : dataset.images.slice(0, maxImages);
  return Promise.all(
    images.map(async (image) => ({
      image,
      pixels: await decodeImageFile(join(dataset.root, image.fileName), `image id ${image.id}`, image),
    })),
  );
}

/**
 * Detections of `model` on each image as a COCO result list: `category_id` is the category id of the class
 * (`categoryIds[classIndex]`), `bbox` xywh in the image's pixels.
 */
export function detectImages(
  model: RetinaNet,
  images: readonly LoadedImage[],
  categoryIds: readonly number[],
): CocoDetection[] {
  const out: CocoDetection[] = [];
  for (const { image, pixels } of images) {
    for (const d of model.detectSync(
      { data: pixels.data, width: pixels.width, height: pixels.height },
      ALL_DETECTIONS,
    )) {
      const categoryId = categoryIds[d.classIndex];
      if (categoryId === undefined)
        throw new Error(
          `detectImages: class index ${d.classIndex} has no category id (${categoryIds.length} categories); ` +
            'does model.numClasses match the dataset?',
        );
      out.push({ image_id: image.id, category_id: categoryId, bbox: d.bbox, score: d.score });
    }
  }
  return out;
}

/** The ground truth of the given images only (a periodic evaluation on a subset). */
export function groundTruthOf(dataset: DetectionDataset, images: readonly LoadedImage[]): CocoGroundTruth {
  const ids = new Set(images.map((i) => i.image.id));
  const gt = toCocoGroundTruth(dataset);
  return {
    images: gt.images.filter((i) => ids.has(i.id)),
    annotations: gt.annotations.filter((a) => ids.has(a.image_id)),
    categories: gt.categories,
  };
}

/** mmdetection's names for `stats[0..5]`. */
export const BBOX_METRIC_NAMES = [
  'bbox_mAP',
  'bbox_mAP_50',
  'bbox_mAP_75',
  'bbox_mAP_s',
  'bbox_mAP_m',
  'bbox_mAP_l',
] as const;

export function bboxMetrics(result: CocoEvalResult): Record<string, number> {
  const m: Record<string, number> = {};
  BBOX_METRIC_NAMES.forEach((k, i) => (m[k] = result.stats[i]!));
  return m;
}

/** Detects on `images` and evaluates against their ground truth. */
export function evaluateDetector(
  model: RetinaNet,
  dataset: DetectionDataset,
  images: readonly LoadedImage[],
): { result: CocoEvalResult; detections: CocoDetection[] } {
  const detections = detectImages(
    model,
    images,
    dataset.categories.map((c) => c.id),
  );
  return { result: evaluateCoco(groundTruthOf(dataset, images), detections), detections };
}

/** The trainer's evaluation hook: COCO bbox metrics of `model` on `images` (decoded once by the caller). */
export function cocoEvalHook(
  model: RetinaNet,
  dataset: DetectionDataset,
  images: readonly LoadedImage[],
): EvalHook {
  return async () => bboxMetrics(evaluateDetector(model, dataset, images).result);
}

/**
 * A model on a COCO ground-truth file and its image folder (`ghmdet eval --model DIR --gt FILE --images DIR`):
 * every image of the file is detected, each class reported as `categoryIds[classIndex]` (an imported
 * torchvision model numbers COCO's categories by their ids), and scored against the file's own annotations.
 */
export async function evaluateModelOnCoco(
  model: RetinaNet,
  categoryIds: readonly number[],
  annotationFile: string,
  imageRoot: string,
): Promise<{ result: CocoEvalResult; detections: CocoDetection[]; images: number }> {
  const dataset = await readCocoDataset({ annotationFile, imageRoot });
  const images = await loadDatasetImages(dataset);
  const detections = detectImages(model, images, categoryIds);
  const gt = JSON.parse(await readFile(annotationFile, 'utf8')) as CocoGroundTruth;
  return { result: evaluateCoco(gt, detections), detections, images: images.length };
}

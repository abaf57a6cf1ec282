/**
 * The COCO data the bbox evaluator reads: a ground-truth file (`instances_*.json` layout) and a result list
 * (the detections file submitted to the COCO server). Field names are COCO's own (`image_id`, `iscrowd`, ...).
 *
 * Box format: every `bbox` here is **xywh** in pixels: `[x, y, width, height]`, (x, y) the top-left corner,
 * width and height >= 0, floats allowed. The evaluator never converts to xyxy except inside the IoU.
 */

/** `[x, y, width, height]` in pixels, (x, y) the top-left corner; width, height >= 0. */
export type BoxXywh = [number, number, number, number];

export interface CocoImage {
  /** Image id; the evaluated images are exactly those listed here (duplicates collapse, as in pycocotools). */
  id: number;
  width?: number;
  height?: number;
  file_name?: string;
}

export interface CocoCategory {
  /** Category id; ids need not be contiguous (COCO uses 1..90 with gaps). */
  id: number;
  name?: string;
}

/** One ground-truth object. */
export interface CocoAnnotation {
  /** Annotation id. pycocotools records matches by this id, so an id of 0 reads as "unmatched" (see cocoMatch.ts). */
  id: number;
  image_id: number;
  category_id: number;
  bbox: BoxXywh;
  /**
   * The object's area in square pixels (COCO: the segmentation mask's area, often below w*h). The small /
   * medium / large ranges use this field, not w*h, exactly as pycocotools does.
   */
  area: number;
  /** 1 (or true) for a crowd region: it never counts as a positive and may absorb many detections. Default 0. */
  iscrowd?: number | boolean;
}

/** A COCO ground-truth dictionary; other top-level fields (`info`, `licenses`) are ignored. */
export interface CocoGroundTruth {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One detection of a COCO result list. Its area is width*height of `bbox` (as pycocotools' `loadRes`). */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: BoxXywh;
  /** Confidence; any finite number, higher is more confident. */
  score: number;
}

/**
 * Whether the detector names the objects it finds: the share of found ground-truth objects whose top-scoring
 * detection has the right class. COCO AP mixes localisation, ranking against background and classification;
 * this separates the last one.
 *
 * Definition, over the non-crowd ground-truth objects of the images in `gt.images` (detections of other images
 * are ignored):
 *  - an object is **found** when at least one detection of its image, of **any** class, overlaps it at
 *    IoU >= `iouThr` (0.5; the IoU is COCO's, boxes xywh);
 *  - among the detections overlapping a found object at IoU >= `iouThr`, any class, take the one with the
 *    highest score (ties: the first in the detections list); the object is **named right** when that
 *    detection's `category_id` is the object's;
 *  - `topClassRight = namedRight / found` (0 when nothing is found), `foundShare = found / objects`.
 * Every detection passed in counts (the detector's own score threshold and max-per-image have already applied);
 * one detection may serve several objects. By chance, with K classes scored alike, `topClassRight` is 1 / K.
 */
import { boxIouXywh } from './cocoIou.js';
import type { CocoDetection, CocoGroundTruth } from './cocoTypes.js';

export interface FoundObjectClass {
  /** Non-crowd ground-truth objects of the evaluated images. */
  objects: number;
  /** Objects overlapped at IoU >= iouThr by a detection of any class. */
  found: number;
  /** Found objects whose top-scoring overlapping detection has their class. */
  namedRight: number;
  /** found / objects, in [0, 1] (0 without objects). */
  foundShare: number;
  /** namedRight / found, in [0, 1] (0 when nothing is found). */
  topClassRight: number;
}

/**
 * @param gt COCO ground truth (boxes xywh); crowd objects are left out.
 * @param dets COCO result list (boxes xywh, any scores).
 * @param iouThr overlap that counts as finding an object, in (0, 1]. Default 0.5.
 */
export function foundObjectClass(gt: CocoGroundTruth, dets: CocoDetection[], iouThr = 0.5): FoundObjectClass {
  if (!(iouThr > 0 && iouThr <= 1)) {
    throw new Error(`foundObjectClass: iouThr must be in (0, 1], got ${iouThr}`);
  }
  const detsByImage = new Map<number, CocoDetection[]>();
  for (const d of dets) {
    const list = detsByImage.get(d.image_id);
    if (list === undefined) detsByImage.set(d.image_id, [d]);
    else list.push(d);
  }
  const gtsByImage = new Map<number, CocoGroundTruth['annotations']>();
  for (const a of gt.annotations) {
    if (a.iscrowd === 1 || a.iscrowd === true) continue;
    const list = gtsByImage.get(a.image_id);
    if (list === undefined) gtsByImage.set(a.image_id, [a]);
    else list.push(a);
  }
  let objects = 0;
  let found = 0;
  let namedRight = 0;
  for (const id of new Set(gt.images.map((im) => im.id))) {
    const gts = gtsByImage.get(id) ?? [];
    const ds = detsByImage.get(id) ?? [];
    objects += gts.length;
    if (gts.length === 0 || ds.length === 0) continue;
    const dtBox = Float64Array.from(ds.flatMap((d) => d.bbox));
    const gtBox = Float64Array.from(gts.flatMap((g) => g.bbox));
    const iou = new Float64Array(ds.length * gts.length);
    boxIouXywh(dtBox, 0, ds.length, gtBox, new Uint8Array(gts.length), 0, gts.length, iou);
    gts.forEach((g, j) => {
      let best = -1;
      for (let d = 0; d < ds.length; d++) {
        if (iou[d * gts.length + j]! >= iouThr && (best < 0 || ds[d]!.score > ds[best]!.score)) best = d;
      }
      if (best < 0) return;
      found++;
      if (ds[best]!.category_id === g.category_id) namedRight++;
    });
  }
  return {
    objects,
    found,
    namedRight,
    foundShare: objects > 0 ? found / objects : 0,
    topClassRight: found > 0 ? namedRight / found : 0,
  };
}

/** One line for summaries: `found 93 of 100 objects (93.0 %); top-scoring class right for 54 of them (58.1 %)`. */
export function formatFoundObjectClass(r: FoundObjectClass, iouThr = 0.5): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return (
    `found ${r.found} of ${r.objects} objects at IoU >= ${iouThr} (${pct(r.foundShare)}); ` +
    `top-scoring detection of the right class for ${r.namedRight} of them (${pct(r.topClassRight)})`
  );
}

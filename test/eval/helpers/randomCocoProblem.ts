/**
 * Seeded random COCO problems that look like a detector's output on COCO val: images of 640x480 with GT boxes
 * of mixed sizes (log-uniform area, so small / medium / large all occur), a few crowd regions, `area` fields
 * below w*h as for segmentation masks, and detections that are jittered copies of GT (some duplicated, some
 * with a wrong category) plus false positives, with scores rounded so that ties occur.
 */
import type { CocoAnnotation, CocoDetection, CocoGroundTruth, BoxXywh } from '../../../src/eval/cocoTypes.js';
import { Random } from '../../../src/utils/random.js';

export interface RandomCocoOptions {
  seed: number;
  numImages: number;
  numCategories: number;
  /** Mean GT boxes per image (uniform in [0, 2 * mean]). */
  gtPerImage: number;
  /** Detections per image (exactly, unless `extraDetsImages` adds more). */
  detsPerImage: number;
  /** Fraction of GT boxes that are crowd regions. Default 0.01. */
  crowdFraction?: number;
  /** Scores are rounded to this many decimals (ties). Default 3. */
  scoreDecimals?: number;
  /**
   * Adds quirk-exercising records: detections of unknown images and categories, images with more than 100
   * detections of one category, GT areas exactly 32^2 and 96^2, an annotation with id 0. Default false.
   */
  quirks?: boolean;
}

export function randomCocoProblem(options: RandomCocoOptions): {
  gt: CocoGroundTruth;
  dets: CocoDetection[];
} {
  const rng = new Random(options.seed);
  const { numImages, numCategories, gtPerImage, detsPerImage } = options;
  const crowdFraction = options.crowdFraction ?? 0.01;
  const scale = 10 ** (options.scoreDecimals ?? 3);
  const W = 640;
  const H = 480;
  // Non-contiguous category ids with a skewed frequency (a few categories dominate, as in COCO).
  const catIds = Array.from({ length: numCategories }, (_, k) => k + 1 + Math.floor(k / 5));
  const weights = catIds.map((_, k) => 1 / (k + 1) ** 0.8);
  const total = weights.reduce((a, b) => a + b, 0);
  const pickCategory = (): number => {
    let u = rng.next() * total;
    for (let k = 0; k < weights.length; k++) if ((u -= weights[k]!) < 0) return catIds[k]!;
    return catIds[catIds.length - 1]!;
  };
  const randomBox = (): BoxXywh => {
    const area = Math.exp(rng.uniform(Math.log(36), Math.log(250 * 250)));
    const aspect = Math.exp(rng.uniform(Math.log(0.5), Math.log(2)));
    const w = Math.min(W - 1, Math.sqrt(area * aspect));
    const h = Math.min(H - 1, Math.sqrt(area / aspect));
    const x = rng.uniform(0, W - w);
    const y = rng.uniform(0, H - h);
    return [round2(x), round2(y), round2(w), round2(h)];
  };
  const score = (lo: number, hi: number): number => Math.round(rng.uniform(lo, hi) * scale) / scale;

  const imageIds = rng.shuffle(Array.from({ length: numImages }, (_, i) => 1000 + i * 7 + rng.int(0, 6)));
  const images = imageIds.map((id) => ({ id, width: W, height: H }));
  const annotations: CocoAnnotation[] = [];
  const dets: CocoDetection[] = [];
  let annId = 1;
  for (const imageId of imageIds) {
    const nGt = rng.int(0, Math.round(2 * gtPerImage));
    const imageAnns: CocoAnnotation[] = [];
    for (let n = 0; n < nGt; n++) {
      const bbox = randomBox();
      const crowd = rng.chance(crowdFraction);
      const wh = bbox[2] * bbox[3];
      const area = rng.chance(0.2) ? wh : round2(wh * rng.uniform(0.55, 1));
      imageAnns.push({
        id: annId++,
        image_id: imageId,
        category_id: pickCategory(),
        bbox,
        area,
        iscrowd: crowd ? 1 : 0,
      });
    }
    annotations.push(...imageAnns);
    const imageDets: CocoDetection[] = [];
    for (const a of imageAnns) {
      const copies = rng.chance(0.85) ? (rng.chance(0.25) ? 2 : 1) : 0;
      for (let c = 0; c < copies && imageDets.length < detsPerImage; c++) {
        const [x, y, w, h] = a.bbox;
        const j = rng.chance(0.7) ? 0.05 : 0.25;
        const bbox: BoxXywh = [
          round2(x + rng.normal(0, j * w)),
          round2(y + rng.normal(0, j * h)),
          round2(Math.max(1, w * (1 + rng.normal(0, j)))),
          round2(Math.max(1, h * (1 + rng.normal(0, j)))),
        ];
        const category_id = rng.chance(0.9) ? a.category_id : pickCategory();
        imageDets.push({ image_id: imageId, category_id, bbox, score: score(0.2, 1) });
      }
    }
    const present = imageAnns.map((a) => a.category_id);
    while (imageDets.length < detsPerImage) {
      const category_id = present.length > 0 && rng.chance(0.5) ? rng.pick(present) : pickCategory();
      imageDets.push({ image_id: imageId, category_id, bbox: randomBox(), score: score(0, 0.7) ** 2 });
    }
    dets.push(...rng.shuffle(imageDets));
  }
  const categories = catIds.map((id) => ({ id, name: `class${id}` }));
  if (options.quirks) addQuirks(rng, imageIds, catIds, annotations, dets);
  return { gt: { images, annotations, categories }, dets };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function addQuirks(
  rng: Random,
  imageIds: number[],
  catIds: number[],
  annotations: CocoAnnotation[],
  dets: CocoDetection[],
): void {
  // Detections the evaluator must ignore: unknown image, unknown category.
  dets.push({ image_id: -5, category_id: catIds[0]!, bbox: [0, 0, 10, 10], score: 0.99 });
  dets.push({ image_id: imageIds[0]!, category_id: 99999, bbox: [0, 0, 10, 10], score: 0.99 });
  // GT areas exactly on the range bounds, one annotation with id 0.
  for (const area of [32 ** 2, 96 ** 2]) {
    const imageId = rng.pick(imageIds);
    const side = Math.sqrt(area);
    annotations.push({
      id: 1_000_000 + annotations.length,
      image_id: imageId,
      category_id: catIds[0]!,
      bbox: [5, 5, side, side],
      area,
      iscrowd: 0,
    });
    dets.push({ image_id: imageId, category_id: catIds[0]!, bbox: [5.5, 5, side, side], score: 0.5 });
  }
  const zero = rng.pick(annotations.filter((a) => !a.iscrowd));
  zero.id = 0;
  dets.push({ image_id: zero.image_id, category_id: zero.category_id, bbox: [...zero.bbox], score: 0.999 });
  // Two images with 130 detections of one category: the top-100 cut per image and category.
  for (let n = 0; n < 2; n++) {
    const imageId = rng.pick(imageIds);
    const category_id = rng.pick(catIds);
    for (let d = 0; d < 130; d++) {
      const x = rng.uniform(0, 500);
      const y = rng.uniform(0, 400);
      dets.push({
        image_id: imageId,
        category_id,
        bbox: [x, y, rng.uniform(5, 120), rng.uniform(5, 80)],
        score: rng.next(),
      });
    }
  }
}

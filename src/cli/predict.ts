/**
 * `ghmdet predict --run RUN_DIR --images DIR|FILES --out results.json [--draw OUT_DIR] [--score-thr S]`:
 * detects objects with a run's checkpoint and writes them in the COCO result format (boxes xywh in each
 * image's pixels). `image_id` is the file name's number when it is one (`000012.png` -> 12, as the shapes and
 * COCO files are named), otherwise the file's position in the sorted list, from 1.
 * With `--draw`, a PNG per image with boxes, labels and scores drawn.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { decodeImageFile } from '../data/image.js';
import { ALL_DETECTIONS } from '../detector/retinaNet.js';
import { setupBackend } from '../engine/backend.js';
import type { CocoDetection } from '../eval/cocoTypes.js';
import { loadRun } from '../train/detectorRun.js';
import { drawDetections } from '../train/drawDetections.js';
import { helpText, parseArgs, stringFlag, type FlagSpec } from './args.js';

export const summary =
  "detect objects in images with a run's checkpoint (COCO results JSON, optional drawings)";

const spec: Record<string, FlagSpec> = {
  run: { type: 'string', description: 'run folder written by ghmdet train' },
  images: { type: 'list', description: 'an image folder or image files (repeat the flag, or list after --)' },
  out: { type: 'string', description: 'results file (COCO result format), default results.json' },
  draw: { type: 'string', description: 'folder for PNGs with the detections drawn' },
  'score-thr': {
    type: 'string',
    description: 'drop detections below this score in the output (default 0.05)',
  },
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  help: { type: 'boolean', description: 'show this help' },
};

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff']);

/** Expands folders into their image files (sorted); files are kept as given. */
export async function listImages(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of inputs) {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new Error(`predict: --images ${p} does not exist`);
    }
    if (s.isDirectory()) {
      const names = (await readdir(p)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return out;
}

/** `000012.png` -> 12; otherwise `fallback`. */
export function imageIdOf(path: string, fallback: number): number {
  const stem = basename(path, extname(path));
  return /^\d+$/.test(stem) ? Number(stem) : fallback;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('predict', argv, spec);
  if (args.flags['help']) {
    console.log(helpText('predict', summary, spec));
    return 0;
  }
  const runDir = stringFlag(args, 'run');
  if (runDir === undefined) throw new Error('predict: --run RUN_DIR is required');
  const inputs = [...((args.flags['images'] as string[] | undefined) ?? []), ...args.positionals];
  if (inputs.length === 0) throw new Error('predict: --images DIR|FILES is required');
  const outFile = stringFlag(args, 'out') ?? 'results.json';
  const drawDir = stringFlag(args, 'draw');
  const scoreThr = Number(stringFlag(args, 'score-thr') ?? '0.05');
  if (!(scoreThr >= 0 && scoreThr <= 1))
    throw new Error(`predict: --score-thr expects a number in [0, 1], got ${stringFlag(args, 'score-thr')}`);

  await setupBackend({ backend: stringFlag(args, 'backend'), log: (l) => process.stderr.write(l + '\n') });
  const files = await listImages(inputs);
  if (files.length === 0) throw new Error(`predict: no image files in ${inputs.join(', ')}`);
  const { model, categories, iteration } = await loadRun(runDir);
  try {
    process.stderr.write(`loaded ${runDir} (iteration ${iteration}); detecting in ${files.length} images\n`);
    const results: CocoDetection[] = [];
    const ids = new Set<number>();
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      const imageId = imageIdOf(file, i + 1);
      if (ids.has(imageId)) throw new Error(`predict: two images map to image_id ${imageId} (${file})`);
      ids.add(imageId);
      const img = await decodeImageFile(file, file);
      const dets = model
        .detectSync({ data: img.data, width: img.width, height: img.height }, ALL_DETECTIONS)
        .filter((d) => d.score >= scoreThr);
      for (const d of dets)
        results.push({
          image_id: imageId,
          category_id: categories[d.classIndex]!.id,
          bbox: d.bbox,
          score: d.score,
        });
      if (drawDir !== undefined) {
        await drawDetections(
          file,
          dets.map((d) => ({ bbox: d.bbox, label: categories[d.classIndex]!.name, score: d.score })),
          dets.map((d) => d.classIndex),
          join(drawDir, `${basename(file, extname(file))}.png`),
        );
      }
    }
    await writeFile(outFile, JSON.stringify(results));
    process.stderr.write(
      `wrote ${results.length} detections to ${outFile}` +
        (drawDir !== undefined ? `, drawings in ${drawDir}` : '') +
        '\n',
    );
    return 0;
  } finally {
    model.dispose();
  }
}

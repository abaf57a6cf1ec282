/**
 * `ghmdet predict (--run DIR | --model DIR) --images DIR|FILE... [--out FILE] [--draw DIR] [--score-thr SCORE]`:
 * detects objects with a run's checkpoint or a model directory (`ghmdet import`, `saveRetinaNet`) and writes them
 * in the COCO result format (boxes xywh in each image's pixels; `category_id` as the model's categories number
 * them, e.g. torchvision's COCO ids for an imported torchvision model).
 * `image_id` is the file name's number when it is one (`000012.png` -> 12, as the shapes and COCO files are
 * named), otherwise the file's position in the sorted list, from 1. With `--draw`, a PNG per image with boxes,
 * labels and scores drawn.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { CocoDetection } from '../eval/cocoTypes.js';
import {
  EXIT,
  Option,
  UsageError,
  action,
  backendOption,
  newCommand,
  required,
  numberIn,
  runCommand,
  type Command,
} from './command.js';

interface PredictFlags {
  run?: string;
  model?: string;
  images: string[];
  out: string;
  draw?: string;
  scoreThr: number;
  backend?: string;
}

export function command(): Command {
  const cmd = newCommand('predict', {
    summary:
      "detect objects in images with a run's checkpoint or a model directory (COCO results JSON, optional drawings)",
    usage: '(--run DIR | --model DIR) --images DIR|FILE... [options]',
    details:
      "image_id is the file name's number when it is one (000012.png -> 12), otherwise the file's position in " +
      'the sorted list, from 1.',
    positionalFlag: '--images',
  })
    .addOption(new Option('--run <DIR>', 'run folder written by ghmdet train'))
    .addOption(
      new Option('--model <DIR>', 'model directory (ghmdet import, saveRetinaNet)').conflicts(['run']),
    )
    .addOption(
      required(
        new Option(
          '--images <DIR|FILE...>',
          'image folders or files (several after one flag, or the flag repeated)',
        ),
      ),
    )
    .addOption(new Option('--out <FILE>', 'results file (COCO result format)').default('results.json'))
    .addOption(new Option('--draw <DIR>', 'folder for PNGs with the detections drawn'))
    .addOption(
      new Option('--score-thr <SCORE>', 'drop detections below this score in the output')
        .argParser(numberIn(0, 1))
        .default(0.05),
    )
    .addOption(backendOption());
  return action<PredictFlags>(cmd, predict);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff']);

/** Expands folders into their image files (sorted); files are kept as given. */
export async function listImages(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of inputs) {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new Error(`--images ${p} does not exist`);
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

async function predict(flags: PredictFlags): Promise<number> {
  const { writeFile } = await import('node:fs/promises');
  const { decodeImageFile } = await import('../data/image.js');
  const { setupBackend } = await import('../engine/backend.js');
  const { loadRun } = await import('../train/detectorRun.js');
  const { loadModelDir } = await import('../detector/modelDir.js');
  const { drawDetections } = await import('../train/drawDetections.js');

  const { run: runDir, model: modelDir, out: outFile, draw: drawDir, scoreThr } = flags;
  if (runDir === undefined && modelDir === undefined) throw new UsageError('give --run DIR or --model DIR');
  const files = await listImages(flags.images);
  if (files.length === 0) throw new Error(`no image files in ${flags.images.join(', ')}`);
  await setupBackend({ backend: flags.backend, log: (l) => process.stderr.write(l + '\n') });
  const { model, categories, loaded } =
    runDir !== undefined
      ? await loadRun(runDir).then((r) => ({ ...r, loaded: `${runDir} (iteration ${r.iteration})` }))
      : await loadModelDir(modelDir!).then((r) => ({ ...r, loaded: modelDir! }));
  try {
    process.stderr.write(`loaded ${loaded}; detecting in ${files.length} images\n`);
    const results: CocoDetection[] = [];
    const ids = new Set<number>();
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      const imageId = imageIdOf(file, i + 1);
      if (ids.has(imageId)) throw new Error(`two images map to image_id ${imageId} (${file})`);
      ids.add(imageId);
      const img = await decodeImageFile(file, file);
      const dets = model
        .detectSync({ data: img.data, width: img.width, height: img.height })
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
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

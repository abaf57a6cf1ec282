/**
 * `ghmdet predict (--run DIR | --model DIR) --images DIR|FILE... [--out FILE] [--draw DIR] [--score-thr SCORE]`:
 * detects objects with a run's checkpoint or a model directory (`ghmdet import`, `saveRetinaNet`) and writes them
 * in the COCO result format (boxes xywh in each image's pixels; `category_id` as the model's categories number
 * them, e.g. torchvision's COCO ids for an imported torchvision model).
 * `image_id` is the file name's number when it is one (`000012.png` -> 12, as the shapes and COCO files are
 * named); other files are numbered after the largest such number (src/data/imageIds.ts). The ids are written
 * beside the results as COCO `images` entries (`results.json` -> `results.images.json`). With `--draw`, a PNG
 * per image with boxes, labels and scores drawn. The output folders are checked before anything is computed.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
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

/** `results.json` -> `results.images.json`: where the image ids of a results file are written. */
export function imageMapPath(outFile: string): string {
  return outFile.replace(/(\.json)?$/i, '.images.json');
}

/** Throws unless `path`'s folder exists (a file written there at the end would otherwise fail after all the work). */
async function checkOutputFolder(flag: string, path: string): Promise<void> {
  const folder = dirname(path);
  let s;
  try {
    s = await stat(folder);
  } catch {
    throw new Error(`${flag} ${path}: the folder ${folder} does not exist; create it first`);
  }
  if (!s.isDirectory()) throw new Error(`${flag} ${path}: ${folder} is not a folder`);
}

async function predict(flags: PredictFlags): Promise<number> {
  const { writeFile } = await import('node:fs/promises');
  const { decodeImageFile } = await import('../data/image.js');
  const { setupBackend } = await import('../engine/backend.js');
  const { loadRun } = await import('../train/detectorRun.js');
  const { loadModelDir } = await import('../detector/modelDir.js');
  const { ALL_DETECTIONS } = await import('../detector/retinaNet.js');
  const { drawDetections } = await import('../train/drawDetections.js');
  const { assignImageIds } = await import('../data/imageIds.js');

  const { run: runDir, model: modelDir, out: outFile, draw: drawDir, scoreThr } = flags;
  if (runDir === undefined && modelDir === undefined) throw new UsageError('give --run DIR or --model DIR');
  const mapFile = imageMapPath(outFile);
  await checkOutputFolder('--out', outFile);
  const files = await listImages(flags.images);
  if (files.length === 0) throw new Error(`no image files in ${flags.images.join(', ')}`);
  const ids = assignImageIds(files);
  await setupBackend({ backend: flags.backend, log: (l) => process.stderr.write(l + '\n') });
  const { model, categories, loaded } =
    runDir !== undefined
      ? await loadRun(runDir).then((r) => ({ ...r, loaded: `${runDir} (iteration ${r.iteration})` }))
      : await loadModelDir(modelDir!).then((r) => ({ ...r, loaded: modelDir! }));
  try {
    process.stderr.write(`loaded ${loaded}; detecting in ${files.length} images\n`);
    const results: CocoDetection[] = [];
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      const imageId = ids.entries[i]!.id;
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
    await writeFile(mapFile, JSON.stringify(ids.entries, null, 1) + '\n');
    process.stderr.write(
      `wrote ${results.length} detections to ${outFile}` +
        (drawDir !== undefined ? `, drawings in ${drawDir}` : '') +
        `\nimage ids: ${ids.fromFileNumbers} from file names` +
        (ids.numberedAfter > 0 ? `, ${ids.numberedAfter} numbered after them` : '') +
        `; the map is in ${mapFile}\n`,
    );
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

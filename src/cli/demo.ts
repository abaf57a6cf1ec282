/**
 * `ghmdet demo` (what `npm start` runs), the main job: generates the synthetic shapes dataset if absent
 * (`data/shapes`), trains the default GHM-C + GHM-R detector (configs/shapes_ghmc_ghmr.json) with a progress
 * display, evaluates it on the validation split, prints the COCO summary in pycocotools' layout, and leaves a
 * run folder (`runs/default`) with the checkpoint, the log, the validation predictions and a few validation
 * images with the detections drawn (`drawn/`).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../config.js';
import { setupBackend } from '../engine/backend.js';
import { formatSummary } from '../eval/cocoSummary.js';
import { formatFoundObjectClass, foundObjectClass } from '../eval/foundObjectClass.js';
import { toCocoGroundTruth } from '../data/dataset.js';
import { formatDuration } from '../train/progress.js';
import { trainDetector } from '../train/detectorRun.js';
import { drawDetections } from '../train/drawDetections.js';
import { helpText, intFlag, parseArgs, stringFlag, type FlagSpec } from './args.js';

export const summary = 'the main job: generate shapes data, train the default GHM detector, evaluate, draw';

/** The default config, found relative to this file (src/cli or dist/cli) so an installed package has it. */
export const DEFAULT_CONFIG = fileURLToPath(new URL('../../configs/shapes_ghmc_ghmr.json', import.meta.url));

const spec: Record<string, FlagSpec> = {
  config: { type: 'string', description: 'config file (default: configs/shapes_ghmc_ghmr.json)' },
  data: { type: 'string', description: 'dataset folder (default: the config data.root, data/shapes)' },
  out: { type: 'string', description: 'run folder (default runs/default; replaced unless --resume)' },
  resume: {
    type: 'boolean',
    description: 'continue the run folder from its checkpoint instead of replacing it',
  },
  draw: { type: 'string', description: 'validation images drawn with their detections (default 8)' },
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  help: { type: 'boolean', description: 'show this help' },
};

/** Detections drawn on the images: at least this score, at most `DRAW_MAX_PER_IMAGE` of the best. */
const DRAW_SCORE_THR = 0.3;
const DRAW_MAX_PER_IMAGE = 10;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('demo', argv, spec);
  if (args.flags['help']) {
    console.log(helpText('demo', summary, spec));
    return 0;
  }
  const t0 = performance.now();
  const log = (line: string) => process.stderr.write(line + '\n');
  await setupBackend({ backend: stringFlag(args, 'backend'), log });
  const runDir = stringFlag(args, 'out') ?? join('runs', 'default');
  const resume = args.flags['resume'] === true;
  const numDraw = intFlag('demo', args, 'draw', 8, 0);
  let config = await loadConfigFile(stringFlag(args, 'config') ?? DEFAULT_CONFIG);
  const dataRoot = stringFlag(args, 'data');
  if (dataRoot !== undefined) config = { ...config, data: { ...config.data, root: dataRoot } };
  if (!resume) await rm(runDir, { recursive: true, force: true });

  const r = await trainDetector(config, { runDir, resume, log });
  try {
    if (r.evaluation === null) {
      log(
        `interrupted at iteration ${r.train.iteration}; continue with: ghmdet demo --resume --out ${runDir}`,
      );
      return 1;
    }
    const val = r.data.val;
    const byImage = new Map<number, typeof r.detections>();
    for (const d of r.detections) byImage.set(d.image_id, [...(byImage.get(d.image_id) ?? []), d]);
    const names = new Map(val.categories.map((c, k) => [c.id, { name: c.name, k }]));
    for (const img of val.images.slice(0, numDraw)) {
      const dets = (byImage.get(img.id) ?? [])
        .filter((d) => d.score >= DRAW_SCORE_THR)
        .sort((a, b) => b.score - a.score)
        .slice(0, DRAW_MAX_PER_IMAGE);
      await drawDetections(
        join(val.root, img.fileName),
        dets.map((d) => ({ bbox: d.bbox, label: names.get(d.category_id)!.name, score: d.score })),
        dets.map((d) => names.get(d.category_id)!.k),
        join(runDir, 'drawn', img.fileName.replace(/\.[^.]+$/, '') + '.png'),
      );
    }
    const seconds = (performance.now() - t0) / 1000;
    const named = foundObjectClass(toCocoGroundTruth(val), r.detections);
    console.log(formatSummary(r.evaluation.stats));
    console.log(formatFoundObjectClass(named));
    console.log(
      `\nAP ${r.evaluation.stats[0]!.toFixed(3)}  AP50 ${r.evaluation.stats[1]!.toFixed(3)}  ` +
        `top class right ${(100 * named.topClassRight).toFixed(1)} %  ` +
        `(${r.train.iteration} iterations, ${val.images.length} validation images, ` +
        `total time ${formatDuration(seconds)})`,
    );
    console.log(
      `run folder ${runDir}: config.json, log.jsonl, checkpoint.json, eval.json, results_val.json, drawn/ (${Math.min(numDraw, val.images.length)} images)`,
    );
    return 0;
  } finally {
    r.model.dispose();
  }
}

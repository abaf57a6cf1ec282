/**
 * `ghmdet demo` (what `npm start` runs), the main job: generates the synthetic shapes dataset if absent
 * (`data/shapes`), trains the default GHM-C + GHM-R detector (configs/shapes_ghmc_ghmr.json) with a progress
 * display, evaluates it on the validation split, prints the COCO summary in pycocotools' layout, and leaves a
 * run folder (`runs/default`) with the checkpoint, the log, the validation predictions and a few validation
 * images with the detections drawn (`drawn/`). Ctrl-C finishes the step, saves a checkpoint and exits 130.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EXIT,
  Option,
  action,
  backendOption,
  deprecatedAlias,
  integer,
  newCommand,
  runCommand,
  withInterrupt,
  type Command,
} from './command.js';

/** The default config, found relative to this file (src/cli or dist/cli) so an installed package has it. */
export const DEFAULT_CONFIG = fileURLToPath(new URL('../../configs/shapes_ghmc_ghmr.json', import.meta.url));

/** Detections drawn on the images: at least this score, at most `DRAW_MAX_PER_IMAGE` of the best. */
const DRAW_SCORE_THR = 0.3;
const DRAW_MAX_PER_IMAGE = 10;

interface DemoFlags {
  config?: string;
  data?: string;
  out: string;
  resume?: boolean;
  numDrawn: number;
  backend?: string;
}

export function command(): Command {
  const cmd = newCommand('demo', {
    summary: 'the main job: generate shapes data, train the default GHM detector, evaluate, draw',
    usage: '[options]',
    details:
      'Ctrl-C finishes the step, saves a checkpoint and exits 130; ghmdet demo --resume continues from it.',
  })
    .addOption(new Option('--config <FILE>', 'config file (default: configs/shapes_ghmc_ghmr.json)'))
    .addOption(new Option('--data <DIR>', "dataset folder, overrides the config's data.root (data/shapes)"))
    .addOption(
      new Option('--out <DIR>', 'run folder, replaced unless --resume').default(join('runs', 'default')),
    )
    .addOption(new Option('--resume', 'continue the run folder from its checkpoint instead of replacing it'))
    .addOption(
      new Option('--num-drawn <N>', 'validation images drawn with their detections into DIR/drawn/')
        .argParser(integer(0))
        .default(8),
    )
    .addOption(backendOption());
  deprecatedAlias(cmd, '--draw <N>', '--num-drawn');
  return action<DemoFlags>(cmd, demo);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

async function demo(flags: DemoFlags): Promise<number> {
  const { rm } = await import('node:fs/promises');
  const { loadConfigFile } = await import('../config.js');
  const { setupBackend } = await import('../engine/backend.js');
  const { formatSummary } = await import('../eval/cocoSummary.js');
  const { formatFoundObjectClass, foundObjectClass } = await import('../eval/foundObjectClass.js');
  const { toCocoGroundTruth } = await import('../data/dataset.js');
  const { formatDuration } = await import('../train/progress.js');
  const { trainDetector } = await import('../train/detectorRun.js');
  const { drawDetections } = await import('../train/drawDetections.js');

  const t0 = performance.now();
  const log = (line: string) => process.stderr.write(line + '\n');
  await setupBackend({ backend: flags.backend, log });
  const runDir = flags.out;
  const resume = flags.resume === true;
  let config = await loadConfigFile(flags.config ?? DEFAULT_CONFIG);
  if (flags.data !== undefined) config = { ...config, data: { ...config.data, root: flags.data } };
  if (!resume) await rm(runDir, { recursive: true, force: true });

  const r = await withInterrupt(log, (signal) => trainDetector(config, { runDir, resume, log, signal }));
  try {
    if (r.evaluation === null) {
      log(
        `interrupted at iteration ${r.train.iteration}; continue with: ghmdet demo --resume --out ${runDir}`,
      );
      return EXIT.interrupted;
    }
    const val = r.data.val;
    const byImage = new Map<number, typeof r.detections>();
    for (const d of r.detections) byImage.set(d.image_id, [...(byImage.get(d.image_id) ?? []), d]);
    const names = new Map(val.categories.map((c, k) => [c.id, { name: c.name, k }]));
    for (const img of val.images.slice(0, flags.numDrawn)) {
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
      `run folder ${runDir}: config.json, log.jsonl, checkpoint.json, eval.json, results_val.json, drawn/ (${Math.min(flags.numDrawn, val.images.length)} images)`,
    );
    return EXIT.ok;
  } finally {
    r.model.dispose();
  }
}

/**
 * `ghmdet eval`: COCO bbox evaluation (pycocotools' numbers) of a detections file against a ground-truth file,
 * or of a run's checkpoint on its validation split.
 *
 *   ghmdet eval --gt instances_val.json --dt detections.json          the pycocotools summary table
 *   ghmdet eval --gt instances_val.json --dt detections.json --json   {"stats": [12], "per_category": {id: AP},
 *                                                                     "ap_per_iou": {"0.50": AP, ..., "0.95": AP}}
 *   ghmdet eval --run DIR [--data DIR]                                 a run's checkpoint on its validation split
 *   ghmdet eval --model DIR --gt FILE --images DIR                     a model directory on a COCO file's images
 *
 * `ap_per_iou` is AP (all areas, 100 detections) at each of COCO's ten IoU thresholds alone, from the same
 * precision array as the summary (its mean over the ten is AP@[.50:.95]): AP at strict IoU, 0.85-0.95, shows
 * how well boxes fit beyond AP75. Below the table (and in the JSON as `found_share` / `top_class_right`): the share of objects found at IoU 0.5
 * by a detection of any class, and of those the share whose top-scoring detection has the right class
 * (src/eval/foundObjectClass.ts).
 *
 * As pycocotools: detections of an image that is not in the ground truth are an error ("Results do not
 * correspond to current coco set"; `--allow-extra-images` ignores them), and so are duplicate annotation ids.
 *
 * The command is split into "where the inputs come from" (`loadInputs`, one branch per input mode) and
 * "how the result is printed" (`report`), so another input mode is one more branch in `loadInputs`.
 */
import { readFile } from 'node:fs/promises';
import type { CocoEvalResult } from '../eval/cocoEval.js';
import type { FoundObjectClass } from '../eval/foundObjectClass.js';
import type { CocoDetection, CocoGroundTruth } from '../eval/cocoTypes.js';
import {
  EXIT,
  Option,
  UsageError,
  action,
  backendOption,
  newCommand,
  runCommand,
  type Command,
} from './command.js';

interface EvalFlags {
  gt?: string;
  dt?: string;
  run?: string;
  model?: string;
  images?: string;
  data?: string;
  backend?: string;
  json?: boolean;
  allowExtraImages?: boolean;
}

export function command(): Command {
  const cmd = newCommand('eval', {
    summary: 'COCO bbox evaluation (AP/AR as pycocotools) of detections against ground truth',
    usage: '(--gt FILE --dt FILE | --run DIR | --model DIR --gt FILE --images DIR) [options]',
  })
    .addOption(
      new Option('--gt <FILE>', 'COCO ground-truth JSON (images, annotations, categories; boxes xywh)'),
    )
    .addOption(
      new Option('--dt <FILE>', 'COCO result list JSON ([{image_id, category_id, bbox (xywh), score}])'),
    )
    .addOption(
      new Option(
        '--run <DIR>',
        "a training run folder: evaluate its checkpoint on the run's validation split",
      ).conflicts(['gt', 'dt']),
    )
    .addOption(
      new Option(
        '--model <DIR>',
        "a model directory (ghmdet import, saveRetinaNet): detect on --gt's images in --images and evaluate",
      ).conflicts(['run', 'dt']),
    )
    .addOption(new Option('--images <DIR>', "with --model: the folder --gt's file_names are relative to"))
    .addOption(new Option('--data <DIR>', "with --run: dataset folder, overrides the run config's data.root"))
    .addOption(backendOption())
    .addOption(
      new Option(
        '--json',
        'print one JSON object {"stats": [...], "per_category": {...}, "ap_per_iou": {...}, "found_share": x, ' +
          '"top_class_right": x}',
      ),
    )
    .addOption(
      new Option(
        '--allow-extra-images',
        'ignore detections whose image_id is not in the ground truth (by default an error, as in pycocotools)',
      ),
    );
  return action<EvalFlags>(cmd, evaluate);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

interface EvalInputs {
  gt: CocoGroundTruth;
  dets: CocoDetection[];
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${what} file ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Reads the ground truth and detections named by the flags; validation happens in `evaluateCoco`. */
async function loadInputs(flags: EvalFlags): Promise<EvalInputs> {
  if (flags.run !== undefined) {
    const { setupBackend } = await import('../engine/backend.js');
    const { runValidationInputs } = await import('../train/detectorRun.js');
    await setupBackend({ backend: flags.backend, log: (l) => process.stderr.write(l + '\n') });
    const r = await runValidationInputs(flags.run, flags.data !== undefined ? { dataRoot: flags.data } : {});
    process.stderr.write(
      `${flags.run}: checkpoint of iteration ${r.iteration}, ${r.gt.images.length} validation images\n`,
    );
    return { gt: r.gt, dets: r.dets };
  }
  if (flags.model !== undefined) {
    const { setupBackend } = await import('../engine/backend.js');
    const { loadModelDir } = await import('../detector/modelDir.js');
    const { evaluateModelOnCoco } = await import('../train/cocoValidation.js');
    await setupBackend({ backend: flags.backend, log: (l) => process.stderr.write(l + '\n') });
    const { model, categories } = await loadModelDir(flags.model);
    try {
      const ids = categories.map((c) => c.id);
      const r = await evaluateModelOnCoco(model, ids, flags.gt!, flags.images!);
      process.stderr.write(`${flags.model}: ${r.detections.length} detections on ${r.images} images\n`);
      const gt = (await readJson(flags.gt!, 'ground-truth')) as CocoGroundTruth;
      return { gt, dets: r.detections };
    } finally {
      model.dispose();
    }
  }
  const gt = (await readJson(flags.gt!, 'ground-truth')) as CocoGroundTruth;
  const dets = (await readJson(flags.dt!, 'detections')) as CocoDetection[];
  return { gt, dets };
}

/**
 * The `--json` object: the 12 stats, AP@[.50:.95] per category id (-1 for a category without GT), and the
 * found-object shares of `foundObjectClass` (IoU 0.5).
 */
export function resultJson(
  result: CocoEvalResult,
  named: FoundObjectClass,
): {
  stats: number[];
  per_category: Record<string, number>;
  ap_per_iou: Record<string, number>;
  found_share: number;
  top_class_right: number;
} {
  const perCategory: Record<string, number> = {};
  for (const [id, c] of Object.entries(result.perCategory)) perCategory[id] = c.ap;
  return {
    stats: result.stats,
    per_category: perCategory,
    ap_per_iou: result.apPerIou,
    found_share: named.foundShare,
    top_class_right: named.topClassRight,
  };
}

async function report(result: CocoEvalResult, named: FoundObjectClass, json: boolean): Promise<void> {
  const { formatSummary } = await import('../eval/cocoSummary.js');
  const { formatFoundObjectClass } = await import('../eval/foundObjectClass.js');
  if (json) console.log(JSON.stringify(resultJson(result, named)));
  else console.log(`${formatSummary(result.stats)}\n${formatFoundObjectClass(named)}`);
}

async function evaluate(flags: EvalFlags): Promise<number> {
  if (flags.model !== undefined && (flags.gt === undefined || flags.images === undefined))
    throw new UsageError('--model DIR needs --gt FILE and --images DIR');
  if (flags.images !== undefined && flags.model === undefined)
    throw new UsageError('--images DIR goes with --model DIR');
  if (
    flags.run === undefined &&
    flags.model === undefined &&
    (flags.gt === undefined || flags.dt === undefined)
  ) {
    throw new UsageError(
      'give --gt FILE and --dt FILE, or --run DIR, or --model DIR with --gt FILE and --images DIR',
    );
  }
  if (flags.run === undefined && flags.data !== undefined)
    throw new UsageError('--data DIR goes with --run DIR');
  const { evaluateCoco } = await import('../eval/cocoEval.js');
  const { foundObjectClass } = await import('../eval/foundObjectClass.js');
  const { gt, dets } = await loadInputs(flags);
  const result = evaluateCoco(gt, dets, { allowExtraImages: flags.allowExtraImages === true });
  await report(result, foundObjectClass(gt, dets), flags.json === true);
  return EXIT.ok;
}

/**
 * `ghmdet eval`: COCO bbox evaluation (pycocotools' numbers) of a detections file against a ground-truth file.
 *
 *   ghmdet eval --gt instances_val.json --dt detections.json          the pycocotools summary table
 *   ghmdet eval --gt instances_val.json --dt detections.json --json   {"stats": [12], "per_category": {id: AP}, ...}
 *   ghmdet eval --run RUN_DIR                                          the same for a run's checkpoint
 *
 * Below the table (and in the JSON as `found_share` / `top_class_right`): the share of objects found at IoU 0.5
 * by a detection of any class, and of those the share whose top-scoring detection has the right class
 * (src/eval/foundObjectClass.ts).
 *
 * The command is split into "where the inputs come from" (`loadInputs`, one branch per input mode) and
 * "how the result is printed" (`report`), so another input mode is one more branch in `loadInputs`.
 */
import { readFile } from 'node:fs/promises';
import { evaluateCoco, type CocoEvalResult } from '../eval/cocoEval.js';
import { formatSummary } from '../eval/cocoSummary.js';
import { foundObjectClass, formatFoundObjectClass, type FoundObjectClass } from '../eval/foundObjectClass.js';
import type { CocoDetection, CocoGroundTruth } from '../eval/cocoTypes.js';
import { setupBackend } from '../engine/backend.js';
import { runValidationInputs } from '../train/detectorRun.js';
import { parseArgs, stringFlag, helpText, type FlagSpec, type ParsedArgs } from './args.js';

export const summary = 'COCO bbox evaluation (AP/AR as pycocotools) of detections against ground truth';

const spec: Record<string, FlagSpec> = {
  gt: { type: 'string', description: 'COCO ground-truth JSON (images, annotations, categories; boxes xywh)' },
  dt: {
    type: 'string',
    description: 'COCO result list JSON ([{image_id, category_id, bbox (xywh), score}])',
  },
  run: {
    type: 'string',
    description: "a training run folder: evaluate its checkpoint on the run's validation split",
  },
  data: { type: 'string', description: 'with --run: dataset folder, overrides the run config data.root' },
  backend: { type: 'string', description: 'with --run: tensorflow | wasm | cpu (default: auto)' },
  json: { type: 'boolean', description: 'print one JSON object {"stats": [...], "per_category": {...}}' },
  help: { type: 'boolean', description: 'show this help' },
};

interface EvalInputs {
  gt: CocoGroundTruth;
  dets: CocoDetection[];
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(
      `eval: cannot read ${what} file ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(
      `eval: ${what} file ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Reads the ground truth and detections named by the flags; validation happens in `evaluateCoco`. */
async function loadInputs(args: ParsedArgs): Promise<EvalInputs> {
  const runDir = stringFlag(args, 'run');
  if (runDir !== undefined) {
    await setupBackend({ backend: stringFlag(args, 'backend'), log: (l) => process.stderr.write(l + '\n') });
    const dataRoot = stringFlag(args, 'data');
    const r = await runValidationInputs(runDir, dataRoot !== undefined ? { dataRoot } : {});
    process.stderr.write(
      `${runDir}: checkpoint of iteration ${r.iteration}, ${r.gt.images.length} validation images\n`,
    );
    return { gt: r.gt, dets: r.dets };
  }
  const gtPath = stringFlag(args, 'gt');
  const dtPath = stringFlag(args, 'dt');
  if (gtPath === undefined || dtPath === undefined) {
    throw new Error(
      'eval: expected --gt GT.json and --dt DETECTIONS.json, or --run RUN_DIR (see ghmdet eval --help)',
    );
  }
  const gt = (await readJson(gtPath, 'ground-truth')) as CocoGroundTruth;
  const dets = (await readJson(dtPath, 'detections')) as CocoDetection[];
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
  found_share: number;
  top_class_right: number;
} {
  const perCategory: Record<string, number> = {};
  for (const [id, c] of Object.entries(result.perCategory)) perCategory[id] = c.ap;
  return {
    stats: result.stats,
    per_category: perCategory,
    found_share: named.foundShare,
    top_class_right: named.topClassRight,
  };
}

function report(result: CocoEvalResult, named: FoundObjectClass, json: boolean): void {
  if (json) console.log(JSON.stringify(resultJson(result, named)));
  else console.log(`${formatSummary(result.stats)}\n${formatFoundObjectClass(named)}`);
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('eval', argv, spec);
  if (args.flags['help']) {
    console.log(helpText('eval', summary, spec));
    return 0;
  }
  const { gt, dets } = await loadInputs(args);
  const result = evaluateCoco(gt, dets);
  report(result, foundObjectClass(gt, dets), args.flags['json'] === true);
  return 0;
}

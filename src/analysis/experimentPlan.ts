/**
 * An experiment file: a list of training runs (base config file + overrides), each repeated over seeds, grouped
 * into result tables. `configs/experiments/paper.json` holds the paper's comparisons on the shapes dataset.
 *
 * ```json
 * {
 *   "description": "what the experiment is for",
 *   "out": "runs/paper",                       run folders go to OUT/<run name>-seed<seed>; default runs/<file name>
 *   "seeds": [0, 1],                           default seeds of every run
 *   "common": { "train": { "max_iters": 1500 } }, overrides applied to every run first (equal budgets)
 *   "tables": [{ "name": "classification", "title": "Classification loss (regression: smooth L1)" }],
 *   "runs": [
 *     { "name": "ce", "config": "../shapes_ce_sl1.json", "tables": ["classification", "cost"],
 *       "overrides": { "train": { "lr_config": { "warmup": null } } }, "seeds": [0],
 *       "paper": { "AP": 28.6, "AP50": 43.3, "AP75": 30.7, "s_per_iter": 0.566 } }
 *   ]
 * }
 * ```
 *
 * A config path is relative to the experiment file. Overrides merge into the config's JSON object by key
 * (objects recursively; arrays, numbers, strings and null replace), then the result is validated by
 * `parseConfig`. The seed sets `train.seed` (weight initialisation) and `data.seed` (loader order and flips);
 * the dataset itself stays the same for every seed.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as z from 'zod';

const jsonObject = z.record(z.string(), z.unknown());

const runSchema = z.strictObject({
  /** Unique, file-name safe: letters, digits, `-`, `_`, `.`. */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, "-", "_" or "." only'),
  /** Base config file, relative to the experiment file. */
  config: z.string().min(1),
  /** Tables the run appears in (names from `tables`). */
  tables: z.array(z.string()).min(1),
  /** Overrides merged over the base config (after `common`). Default none. */
  overrides: jsonObject.default({}),
  /** Seeds of this run; default the file's `seeds`. */
  seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
  /** A short label for the tables; default the name. */
  label: z.string().optional(),
  /** The paper's figures for the same comparison (COCO, in percent; seconds per iteration), shown beside ours. */
  paper: z
    .strictObject({
      AP: z.number().optional(),
      AP50: z.number().optional(),
      AP75: z.number().optional(),
      s_per_iter: z.number().positive().optional(),
    })
    .optional(),
});

const planSchema = z.strictObject({
  description: z.string().optional(),
  out: z.string().min(1).optional(),
  seeds: z.array(z.number().int().nonnegative()).min(1).default([0]),
  common: jsonObject.default({}),
  tables: z.array(z.strictObject({ name: z.string().min(1), title: z.string().min(1) })).min(1),
  runs: z.array(runSchema).min(1),
});

export type ExperimentRunSpec = z.infer<typeof runSchema>;

/** A validated experiment file. */
export interface ExperimentPlan {
  /** The file it was read from (absolute). */
  file: string;
  description: string | undefined;
  /** Folder of the run folders. */
  out: string;
  seeds: number[];
  common: Record<string, unknown>;
  tables: { name: string; title: string }[];
  runs: ExperimentRunSpec[];
}

/** One training run of the plan: a run spec at one seed, with its resolved config JSON. */
export interface ExperimentRun {
  /** `<name>-seed<seed>`, also the run folder's name. */
  id: string;
  name: string;
  label: string;
  seed: number;
  tables: string[];
  runDir: string;
  /** The config object before validation (base file + common + overrides + seed). */
  config: Record<string, unknown>;
}

/** Merges `over` into `base` by key: objects recursively, anything else replaces. Neither input is modified. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(base) || !isObj(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? mergeConfig(out[k], v) : structuredClone(v);
  return out;
}

/** Validates a parsed experiment file; `file` names it in errors and anchors relative paths. */
export function parseExperimentPlan(json: unknown, file: string): ExperimentPlan {
  const r = planSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${file}: invalid experiment file:\n  ${issues.join('\n  ')}`);
  }
  const p = r.data;
  const tableNames = new Set(p.tables.map((t) => t.name));
  const seen = new Set<string>();
  for (const run of p.runs) {
    if (seen.has(run.name)) throw new Error(`${file}: run name ${JSON.stringify(run.name)} appears twice`);
    seen.add(run.name);
    const unknown = run.tables.filter((t) => !tableNames.has(t));
    if (unknown.length > 0) {
      throw new Error(
        `${file}: run ${run.name} lists unknown table(s) ${unknown.join(', ')}; known: ${[...tableNames].join(', ')}`,
      );
    }
  }
  const abs = resolve(file);
  return {
    file: abs,
    description: p.description,
    out: p.out ?? join('runs', basename(file).replace(/\.json$/, '')),
    seeds: p.seeds,
    common: p.common,
    tables: p.tables,
    runs: p.runs,
  };
}

/** Reads and validates an experiment file. */
export async function loadExperimentPlan(file: string): Promise<ExperimentPlan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`experiment file ${file} could not be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`experiment file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseExperimentPlan(json, file);
}

export interface ExpandOptions {
  /** Folder of the run folders; default the plan's `out`. */
  out?: string;
  /** Overrides applied last to every run (e.g. a smoke budget `{ train: { max_iters: 2 } }`). */
  overrides?: Record<string, unknown>;
  /** Keep only the runs with these names. Default all. */
  only?: string[];
  /** Use these seeds for every run instead of the plan's. Default the plan's. */
  seeds?: number[];
}

/** The plan's runs, one per (run, seed), in file order; base config files are read here. */
export async function expandExperiment(
  plan: ExperimentPlan,
  options: ExpandOptions = {},
): Promise<ExperimentRun[]> {
  const out = options.out ?? plan.out;
  const only = options.only;
  if (only !== undefined) {
    const names = new Set(plan.runs.map((r) => r.name));
    const missing = only.filter((n) => !names.has(n));
    if (missing.length > 0)
      throw new Error(`--only: unknown run(s) ${missing.join(', ')}; known: ${[...names].join(', ')}`);
  }
  const runs: ExperimentRun[] = [];
  for (const spec of plan.runs) {
    if (only !== undefined && !only.includes(spec.name)) continue;
    const path = resolve(dirname(plan.file), spec.config);
    let base: unknown;
    try {
      base = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new Error(
        `run ${spec.name}: config ${path} could not be read as JSON: ${(err as Error).message}`,
      );
    }
    for (const seed of options.seeds ?? spec.seeds ?? plan.seeds) {
      let config = mergeConfig(base, plan.common);
      config = mergeConfig(config, spec.overrides);
      config = mergeConfig(config, { train: { seed }, data: { seed } });
      if (options.overrides) config = mergeConfig(config, options.overrides);
      const id = `${spec.name}-seed${seed}`;
      runs.push({
        id,
        name: spec.name,
        label: spec.label ?? spec.name,
        seed,
        tables: spec.tables,
        runDir: join(out, id),
        config: config as Record<string, unknown>,
      });
    }
  }
  return runs;
}

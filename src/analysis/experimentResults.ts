/**
 * The results of an experiment: one row per run folder (final COCO AP, AP50, AP75, APs, APm, APl from
 * `eval.json`, seconds per iteration from the log), the mean and standard deviation over seeds per run name, and
 * a markdown rendering with one table per result table of the plan, the paper's figures beside ours where the
 * plan gives them.
 *
 * Seconds per iteration = batch size / mean images-per-second of the `train` records after the first (the
 * first interval includes start-up); null when the log has fewer than two records.
 */
import { relative, sep } from 'node:path';
import type { ExperimentPlan, ExperimentRun, ExperimentRunSpec } from './experimentPlan.js';
import type { RunFolder } from './runFiles.js';

/** COCO stats names (src/eval/cocoSummary.ts) of the reported columns. */
export const AP_NAMES = {
  AP: 'AP@[.50:.95]|all|100',
  AP50: 'AP@.50|all|100',
  AP75: 'AP@.75|all|100',
  APs: 'AP@[.50:.95]|small|100',
  APm: 'AP@[.50:.95]|medium|100',
  APl: 'AP@[.50:.95]|large|100',
} as const;

/** The reported AP columns, in order. */
export type ApName = keyof typeof AP_NAMES;
const AP_KEYS = Object.keys(AP_NAMES) as ApName[];

/** One value per AP column, in column order. */
function perAp<T>(f: (k: ApName) => T): Record<ApName, T> {
  return Object.fromEntries(AP_KEYS.map((k) => [k, f(k)])) as Record<ApName, T>;
}

export interface RunResult {
  id: string;
  name: string;
  label: string;
  seed: number;
  tables: string[];
  /** True when the run folder has its final evaluation (eval.json). */
  finished: boolean;
  /** Completed iterations (last log record). */
  iterations: number | null;
  /** COCO AP columns; null when unfinished or, as COCO's -1, when the split has no object of that size. */
  AP: number | null;
  AP50: number | null;
  AP75: number | null;
  APs: number | null;
  APm: number | null;
  APl: number | null;
  secondsPerIter: number | null;
  /** Last logged total loss. */
  finalLoss: number | null;
}

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for one value. */
  std: number;
  n: number;
}

export interface SummaryRow {
  name: string;
  label: string;
  tables: string[];
  /** Finished seeds. */
  seeds: number[];
  AP: MeanStd | null;
  AP50: MeanStd | null;
  AP75: MeanStd | null;
  APs: MeanStd | null;
  APm: MeanStd | null;
  APl: MeanStd | null;
  secondsPerIter: MeanStd | null;
  /** The paper's figures for this row, when the plan gives them. */
  paper: ExperimentRunSpec['paper'] | null;
}

export interface ExperimentResults {
  experiment: string;
  description: string | null;
  runs: RunResult[];
  summary: SummaryRow[];
}

/** Mean and sample standard deviation of the non-null values, or null when there are none. */
export function meanStd(values: (number | null)[]): MeanStd | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.length > 1 ? v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1) : 0;
  return { mean, std: Math.sqrt(variance), n: v.length };
}

/** The result row of one run from its folder (null fields where the run has not got that far). */
export function runResult(run: ExperimentRun, folder: RunFolder | null): RunResult {
  const metric = (k: ApName): number | null => {
    const v = folder?.finalEval?.metrics[AP_NAMES[k]];
    return v === undefined || v < 0 ? null : v;
  };
  const train = folder?.log.train ?? [];
  const speeds = train
    .slice(1)
    .map((e) => e.imagesPerSecond)
    .filter((x): x is number => x !== null && x > 0);
  const data = (folder?.config?.['data'] ?? run.config['data']) as { batch_size?: number } | undefined;
  const batch = data?.batch_size ?? 8;
  const last = train[train.length - 1];
  return {
    id: run.id,
    name: run.name,
    label: run.label,
    seed: run.seed,
    tables: run.tables,
    finished: folder?.finalEval !== null && folder?.finalEval !== undefined,
    iterations: last?.iter ?? null,
    ...perAp(metric),
    secondsPerIter: speeds.length > 0 ? batch / (speeds.reduce((a, b) => a + b, 0) / speeds.length) : null,
    finalLoss: last?.losses['loss'] ?? null,
  };
}

/** Per-run rows and their summary over seeds (finished runs only), in plan order. */
export function summarizeResults(plan: ExperimentPlan, runs: RunResult[]): ExperimentResults {
  const summary: SummaryRow[] = [];
  for (const spec of plan.runs) {
    const rows = runs.filter((r) => r.name === spec.name && r.finished);
    if (!runs.some((r) => r.name === spec.name)) continue;
    summary.push({
      name: spec.name,
      label: spec.label ?? spec.name,
      tables: spec.tables,
      seeds: rows.map((r) => r.seed),
      ...perAp((k) => meanStd(rows.map((r) => r[k]))),
      secondsPerIter: meanStd(rows.map((r) => r.secondsPerIter)),
      paper: spec.paper ?? null,
    });
  }
  // Relative to the working directory (the repository root for the shipped files), so results files name no
  // particular machine's paths.
  const experiment = relative(process.cwd(), plan.file).split(sep).join('/') || plan.file;
  return { experiment, description: plan.description ?? null, runs, summary };
}

function cell(m: MeanStd | null, scale: number, digits: number): string {
  if (m === null) return '–';
  const mean = (m.mean * scale).toFixed(digits);
  return m.n > 1 ? `${mean} ± ${(m.std * scale).toFixed(digits)}` : mean;
}

/** The paper's figures of a row: `AP / AP50 / AP75` (– where not given), then `; S s/iter` when given. */
function paperCell(p: SummaryRow['paper']): string {
  if (p === null || p === undefined) return '–';
  const aps = [p.AP, p.AP50, p.AP75];
  const parts: string[] = [];
  if (aps.some((v) => v !== undefined))
    parts.push(aps.map((v) => (v === undefined ? '–' : v.toFixed(1))).join(' / '));
  if (p.s_per_iter !== undefined) parts.push(`${p.s_per_iter} s/iter`);
  return parts.length > 0 ? parts.join('; ') : '–';
}

/**
 * Markdown: per table of the plan, `| run | seeds | AP | AP50 | AP75 | APs | APm | APl | s/iter | paper |` with AP
 * in percent (mean ± std over the finished seeds) and the paper's COCO figures (AP / AP50 / AP75, s/iter).
 */
export function resultsMarkdown(plan: ExperimentPlan, results: ExperimentResults): string {
  const lines: string[] = ['# Experiment results', ''];
  if (plan.description) lines.push(plan.description, '');
  const unfinished = results.runs.filter((r) => !r.finished).map((r) => r.id);
  if (unfinished.length > 0)
    lines.push(`Unfinished runs (left out of the means): ${unfinished.join(', ')}.`, '');
  for (const table of plan.tables) {
    const rows = results.summary.filter((s) => s.tables.includes(table.name));
    if (rows.length === 0) continue;
    lines.push(
      `## ${table.title}`,
      '',
      '| run | seeds | AP | AP50 | AP75 | APs | APm | APl | s/iter | paper (COCO): AP / AP50 / AP75 |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of rows) {
      const aps = AP_KEYS.map((k) => cell(s[k], 100, 1)).join(' | ');
      lines.push(
        `| ${s.label} | ${s.seeds.length > 0 ? s.seeds.join(', ') : '–'} | ${aps} | ` +
          `${cell(s.secondsPerIter, 1, 2)} | ${paperCell(s.paper)} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    'AP columns: COCO box AP in percent on the validation split, mean ± sample std over seeds; – where a size',
    'range has no objects. The paper column is COCO with an ImageNet-pretrained ResNet, for reference only.',
    '',
  );
  return lines.join('\n');
}

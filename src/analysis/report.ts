/**
 * A self-contained HTML report of one run or a set of runs: inline CSS, inline SVG figures, drawn images as
 * `data:` URIs, no scripts, fonts or links to fetch (it opens offline and can be mailed as one file).
 *
 * It reads as a results page. Each run, in this order:
 *  1. the headline: AP, AP50, AP75 (and AP by object size), training time, and the validation images with
 *     their detections drawn when the run folder has `drawn/` (runSummary.ts, drawnImages.ts);
 *  2. the paper's gradient figures side by side, classification then regression (figures.ts);
 *  3. the curves: training loss and validation AP;
 *  4. the COCO evaluation table and the head fit;
 *  5. the configuration, collapsed in `<details>`.
 * For several runs a comparison (a table of the headline numbers and plots of every run) comes first. Metrics that the
 * evaluation reports as absent (-1: nothing to measure) appear in no plot and no table.
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatDuration } from '../train/progress.js';
import { drawnImageHtml } from './drawnImages.js';
import {
  curveFigures,
  gradientFigures,
  runComparisonFigure,
  validationMetricNames,
  type Figure,
} from './figures.js';
import { escapeHtml, formatNumber, table } from './html.js';
import { renderSvg } from './renderSvg.js';
import { isAbsentMetric, readRunFolder, type RunFolder } from './runFiles.js';
import { summarizeRun } from './runSummary.js';

export { escapeHtml } from './html.js';

export interface ReportOptions {
  /** Page title. Default `ghmdet report: <run names>`. */
  title?: string;
  /** Most configuration entries listed per run (the rest are counted). Default 500. */
  maxConfigEntries?: number;
  /** Most images of a run's `drawn/` shown in its headline (one row of 4 on a wide page). Default 4. */
  maxDrawnImages?: number;
  /**
   * Also write every figure as a standalone SVG file into this folder (created): `<run name>-<figure id>.svg`
   * for a run's figures, `compare-<figure id>.svg` for the comparison of several runs. Default: none.
   */
  svgDir?: string;
}

/** `{a: {b: 1}, c: [1, 2]}` -> `[['a.b', '1'], ['c', '[1,2]']]`: the leaves of a config, arrays kept whole. */
export function flattenConfig(value: unknown, prefix = ''): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const out: [string, string][] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out.push(...flattenConfig(v, prefix ? `${prefix}.${k}` : k));
    }
    return out;
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return [[prefix || '(value)', text.length > 120 ? `${text.slice(0, 117)}...` : text]];
}

/**
 * Prefixes the ids inside one figure's SVG (clip paths, gradients) and their `url(#id)` / `href="#id"` uses
 * with the figure's id, so several inline SVGs never share an id in one page.
 */
export function scopeSvgIds(svg: string, scope: string): string {
  return svg
    .replace(/ id="([^"]+)"/g, ` id="${scope}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${scope}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${scope}-$1"`);
}

/** A run name as a file-name part: anything but letters, digits, '.', '_' and '-' becomes '_'. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

interface PageOptions {
  maxConfigEntries: number;
  maxDrawnImages: number;
  svgDir: string | null;
}

/** Figures laid out side by side (a responsive grid); `file` names the standalone SVG of a figure, if any. */
async function figureGrid(
  figs: Figure[],
  scope: string,
  file: (fig: Figure) => string | null,
): Promise<string> {
  const parts = ['<div class="grid">'];
  for (const fig of figs) {
    const standalone = await renderSvg(fig.spec);
    const path = file(fig);
    if (path !== null) {
      await fs.mkdir(dirname(path), { recursive: true });
      await fs.writeFile(path, standalone);
    }
    const id = `${scope}-${fig.id}`;
    parts.push(
      `<figure id="${escapeHtml(id)}">`,
      scopeSvgIds(standalone, id),
      `<figcaption><strong>${escapeHtml(fig.title)}.</strong> ${escapeHtml(fig.caption)}</figcaption>`,
      '</figure>',
    );
  }
  parts.push('</div>');
  return parts.join('\n');
}

/**
 * One row per run: the headline numbers under one name whichever file they come from (eval.json or the last
 * periodic evaluation, see runSummary.ts), the training time, and the last logged loss terms. A metric absent
 * (-1) in every run has no column; an absent value shows as '–'.
 */
function comparisonTable(runs: RunFolder[]): string {
  const summaries = runs.map(summarizeRun);
  const metrics = summaries.map((s) => new Map([...s.primary, ...s.bySize].map((m) => [m.label, m.value])));
  const labels = [...new Set(summaries.flatMap((s) => [...s.primary, ...s.bySize].map((m) => m.label)))];
  const losses = runs.map((r) => r.log.train[r.log.train.length - 1]?.losses ?? {});
  const lossNames = [...new Set(losses.flatMap((l) => Object.keys(l)))].sort();
  const header = ['run', 'iterations', 'training time', 'evaluated', ...labels, ...lossNames];
  const rows = runs.map((r, i) => {
    const s = summaries[i]!;
    const evaluated =
      s.evaluation === null
        ? '–'
        : `${s.evaluation.final ? 'final' : 'periodic'}, iteration ${s.evaluation.iter}`;
    return [
      r.name,
      formatNumber(s.iterations ?? undefined),
      s.trainingSeconds === null ? '–' : formatDuration(s.trainingSeconds),
      evaluated,
      ...labels.map((l) => {
        const v = metrics[i]!.get(l);
        return v === undefined ? '–' : v.toFixed(3);
      }),
      ...lossNames.map((k) => formatNumber(losses[i]![k])),
    ];
  });
  return table(header, rows, 'wide');
}

/** The headline: the AP numbers, the training time, what produced them, and the drawn detections. */
async function headlineSection(run: RunFolder, o: PageOptions): Promise<string> {
  const s = summarizeRun(run);
  const card = (value: string, label: string, cls: string): string =>
    `<div class="metric ${cls}"><div class="value">${escapeHtml(value)}</div>` +
    `<div class="label">${escapeHtml(label)}</div></div>`;
  const cards = [
    ...s.primary.map((m) => card(m.value.toFixed(3), m.label, 'primary')),
    ...s.bySize.map((m) => card(m.value.toFixed(3), m.label, 'secondary')),
  ];
  if (s.trainingSeconds !== null)
    cards.push(card(formatDuration(s.trainingSeconds), 'training time', 'time'));
  const facts: string[] = [];
  if (s.evaluation === null)
    facts.push('No evaluation results (eval.json or evaluation records in the log).');
  else if (s.evaluation.final)
    facts.push(`COCO evaluation of the final model (iteration ${s.evaluation.iter})`);
  else facts.push(`Last periodic evaluation (iteration ${s.evaluation.iter}); the run has no eval.json`);
  if (s.iterations !== null) facts.push(`${s.iterations} iterations`);
  if (s.imagesPerSecond !== null) facts.push(`${s.imagesPerSecond.toFixed(0)} images/s on average`);
  const losses = Object.entries(s.losses).map(([k, v]) => `${k} ${v}`);
  if (losses.length > 0) facts.push(losses.join(', '));
  const parts = [
    '<section class="headline">',
    cards.length > 0 ? `<div class="numbers">${cards.join('')}</div>` : '',
    `<p class="facts">${escapeHtml(facts.join(' · '))}</p>`,
  ];
  const drawn = run.drawn.slice(0, o.maxDrawnImages);
  if (drawn.length > 0) {
    parts.push(
      `<p class="facts">Validation images with the detections drawn (${drawn.length} of ${run.drawn.length} in drawn/):</p>`,
      '<div class="drawn">',
    );
    for (const path of drawn) parts.push(await drawnImageHtml(path));
    parts.push('</div>');
  }
  parts.push('</section>');
  return parts.filter((p) => p !== '').join('\n');
}

/**
 * How well the head fits its targets at each statistics file's iteration: the positive anchors' top-1 class
 * accuracy and the correlation of predicted and target deltas per coordinate (files written before these
 * fields existed are skipped). Null when there is nothing to show.
 */
function headFitTable(run: RunFolder, h: string): string | null {
  const rows = run.gradStats.flatMap((s) => {
    const c = s.classification;
    const f = s.regression?.fit;
    if (c?.positiveTop1 === undefined && f === undefined) return [];
    return [
      [
        formatNumber(s.iteration ?? undefined),
        c?.positiveTop1 === undefined ? '' : formatNumber(c.positiveTop1),
        ...[0, 1, 2, 3].map((i) => (f === undefined ? '' : formatNumber(f.correlation[i]))),
      ],
    ];
  });
  if (rows.length === 0) return null;
  return (
    `<${h}>Head fit on training images</${h}>` +
    '<p>Share of positive anchors whose top-scoring class is their label, and the correlation of predicted ' +
    'and target box deltas over the positive anchors.</p>' +
    table(
      ['iteration', 'top-1 of positives', 'corr. dx', 'corr. dy', 'corr. dw', 'corr. dh'],
      rows,
      'metrics',
    )
  );
}

/** The whole evaluation (absent metrics named, not shown as -1) and the head fit; null when neither exists. */
function evaluationSection(run: RunFolder, h: string, h2: string): string | null {
  const parts: string[] = [];
  const final = run.finalEval ?? run.log.val[run.log.val.length - 1] ?? null;
  if (final !== null) {
    const names = Object.keys(final.metrics);
    const absent = names.filter((k) => isAbsentMetric(final.metrics[k]!));
    const what = run.finalEval !== null ? 'Final COCO evaluation' : 'Last periodic evaluation';
    parts.push(
      `<${h2}>${what} (iteration ${final.iter})</${h2}>`,
      table(
        ['metric', 'value'],
        names.filter((k) => !absent.includes(k)).map((k) => [k, formatNumber(final.metrics[k])]),
        'metrics',
      ),
    );
    if (absent.length > 0)
      parts.push(
        `<p class="note">Left out, nothing to measure (no ground truth in the slice): ${escapeHtml(absent.join(', '))}.</p>`,
      );
  }
  const fit = headFitTable(run, h2);
  if (fit !== null) parts.push(fit);
  if (parts.length === 0) return null;
  return ['<section class="evaluation">', `<${h}>Evaluation</${h}>`, ...parts, '</section>'].join('\n');
}

function configurationSection(run: RunFolder, maxEntries: number): string | null {
  if (run.config === null) return null;
  const entries = flattenConfig(run.config);
  const shown = entries.slice(0, maxEntries);
  return [
    '<details class="configuration">',
    `<summary>Configuration (${entries.length} entries)</summary>`,
    table(['key', 'value'], shown, 'config'),
    entries.length > shown.length ? `<p>(${entries.length - shown.length} more entries)</p>` : '',
    '</details>',
  ].join('\n');
}

const FAMILY_HEADINGS = {
  classification: 'Classification: GHM-C against CE and focal loss',
  regression: 'Box regression: GHM-R against ASL1 and smooth L1',
} as const;

/** One run's sections; `level` is the heading level of the sections (2 for a single run, 3 under a run's h2). */
async function runSections(run: RunFolder, scope: string, level: 2 | 3, o: PageOptions): Promise<string> {
  const h = `h${level}`;
  const h2 = `h${level + 1}`;
  const file = (fig: Figure): string | null =>
    o.svgDir === null ? null : join(o.svgDir, `${safeName(run.name)}-${fig.id}.svg`);
  const parts = [await headlineSection(run, o)];
  const families = (['classification', 'regression'] as const)
    .map((family) => ({ family, figs: gradientFigures(run, family) }))
    .filter((f) => f.figs.length > 0);
  if (families.length > 0) {
    const last = run.gradStats[run.gradStats.length - 1]!;
    parts.push(
      '<section class="gradient-figures">',
      `<${h}>Gradient statistics (the paper's figures)</${h}>`,
      `<p>From the training batch at iteration ${last.iteration ?? '?'}` +
        (run.gradStats.length > 1 ? `, and ${run.gradStats.length} sampled iterations over training.` : '.') +
        '</p>',
    );
    for (const { family, figs } of families)
      parts.push(`<${h2}>${FAMILY_HEADINGS[family]}</${h2}>`, await figureGrid(figs, scope, file));
    parts.push('</section>');
  }
  const curves = curveFigures(run);
  if (curves.length > 0)
    parts.push(
      '<section class="curves">',
      `<${h}>Training curves</${h}>`,
      await figureGrid(curves, scope, file),
      '</section>',
    );
  if (families.length === 0 && curves.length === 0)
    parts.push('<p>No log records or gradient statistics to plot.</p>');
  const evaluation = evaluationSection(run, h, h2);
  if (evaluation !== null) parts.push(evaluation);
  const config = configurationSection(run, o.maxConfigEntries);
  if (config !== null) parts.push(config);
  return parts.join('\n');
}

const CSS = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1360px;
  padding: 1.2em 2em 3em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0.3em 0 0.1em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin: 1.6em 0 0.5em; }
h3 { font-size: 1.1em; margin: 1.2em 0 0.4em; }
.path { color: #666; font-family: monospace; margin: 0 0 1em; }
.numbers { display: flex; flex-wrap: wrap; gap: 0.7em; margin: 0.6em 0; }
.metric { border: 1px solid #ddd; border-radius: 6px; padding: 0.4em 1em 0.5em; background: #fafafa; min-width: 6em; }
.metric .value { font-size: 1.9em; font-weight: bold; font-variant-numeric: tabular-nums; }
.metric.secondary .value, .metric.time .value { font-size: 1.4em; font-weight: normal; padding-top: 0.3em; }
.metric .label { color: #555; font-size: 0.9em; }
.facts, .note { color: #444; margin: 0.4em 0; }
.drawn { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 250px), 1fr)); gap: 0.8em;
  max-width: 1240px; }
.drawn-image img { display: block; width: 100%; height: auto; border: 1px solid #ccc; box-sizing: border-box; }
.drawn-image .caption { font-size: 0.8em; color: #666; text-align: center; }
img.pixelated { image-rendering: pixelated; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 540px), 1fr));
  gap: 1.2em 2em; align-items: start; }
.grid figure { margin: 0; }
.grid svg { display: block; width: 100%; height: auto; }
.grid figcaption { font-size: 0.88em; color: #444; margin-top: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
td { font-variant-numeric: tabular-nums; } th { background: #f4f4f4; }
table.config td:first-child { font-family: monospace; }
.wide { display: block; overflow-x: auto; }
details.configuration { margin-top: 2em; border-top: 1px solid #ddd; padding-top: 0.6em; }
details.configuration summary { cursor: pointer; font-size: 1.1em; font-weight: bold; }
`;

/** The report of already loaded runs, as one HTML string. */
export async function buildReport(runs: RunFolder[], options: ReportOptions = {}): Promise<string> {
  if (runs.length === 0) throw new Error('buildReport: runs is empty; expected at least one run folder');
  const o: PageOptions = {
    maxConfigEntries: options.maxConfigEntries ?? 500,
    maxDrawnImages: options.maxDrawnImages ?? 4,
    svgDir: options.svgDir ?? null,
  };
  const title = options.title ?? `ghmdet report: ${runs.map((r) => r.name).join(', ')}`;
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`];
  if (runs.length === 1) {
    body.push(`<p class="path">${escapeHtml(runs[0]!.dir)}</p>`, await runSections(runs[0]!, 'run1', 2, o));
  } else {
    const figs: Figure[] = [];
    if (runs.some((r) => r.log.train.some((e) => e.losses['loss'] !== undefined)))
      figs.push(runComparisonFigure(runs, 'loss', 'loss'));
    const metrics = [...new Set(runs.flatMap((r) => validationMetricNames(r.log)))];
    const headline = metrics.find((m) => /^bbox_mAP$|^AP$/.test(m)) ?? metrics[0];
    if (headline !== undefined) figs.push(runComparisonFigure(runs, 'val', headline));
    body.push('<section class="comparison">', '<h2>Comparison</h2>', comparisonTable(runs));
    if (figs.length > 0)
      body.push(
        await figureGrid(figs, 'compare', (fig) =>
          o.svgDir === null ? null : join(o.svgDir, `compare-${fig.id}.svg`),
        ),
      );
    body.push('</section>');
    for (const [i, run] of runs.entries())
      body.push(
        '<section class="run">',
        `<h2>${escapeHtml(run.name)}</h2>`,
        `<p class="path">${escapeHtml(run.dir)}</p>`,
        await runSections(run, `run${i + 1}`, 3, o),
        '</section>',
      );
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}

/** Loads the run folders, builds the report and writes it to `outPath` (folders created); returns the HTML. */
export async function writeReport(
  runDirs: string[],
  outPath: string,
  options: ReportOptions = {},
): Promise<string> {
  const runs: RunFolder[] = [];
  for (const dir of runDirs) runs.push(await readRunFolder(dir));
  const html = await buildReport(runs, options);
  await fs.mkdir(dirname(outPath), { recursive: true });
  await fs.writeFile(outPath, html);
  return html;
}

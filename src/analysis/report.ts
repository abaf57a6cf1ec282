/**
 * A self-contained HTML report of one run or a set of runs: inline CSS, inline SVG figures, no scripts, fonts,
 * images or links to fetch (it opens offline and can be mailed as one file).
 *
 * Content: a title; for several runs a comparison table (last logged losses and evaluation metrics of each run)
 * and comparison plots; then for each run its configuration summary, its final evaluation table and its
 * figures (figures.ts: loss curves, validation metrics, and the paper's gradient figures when the run folder
 * holds gradient statistics).
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { runComparisonFigure, runFigures, validationMetricNames, type Figure } from './figures.js';
import { renderSvg } from './renderSvg.js';
import { readRunFolder, type RunFolder } from './runFiles.js';

export interface ReportOptions {
  /** Page title. Default `ghmdet report: <run names>`. */
  title?: string;
  /** Most configuration entries listed per run (the rest are counted). Default 80. */
  maxConfigEntries?: number;
  /**
   * Also write every figure as a standalone SVG file into this folder (created): `<run name>-<figure id>.svg`
   * for a run's figures, `compare-<figure id>.svg` for the comparison of several runs. Default: none.
   */
  svgDir?: string;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
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

function formatNumber(v: number | undefined): string {
  if (v === undefined) return '–';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

function table(header: string[], rows: string[][], cls = ''): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

/** Last value of each loss term and the final evaluation (eval.json, else the last evaluation record). */
function finalValues(run: RunFolder): {
  losses: Record<string, number>;
  metrics: Record<string, number>;
  iter: number | null;
} {
  const lastTrain = run.log.train[run.log.train.length - 1];
  const lastVal = run.finalEval ?? run.log.val[run.log.val.length - 1];
  return {
    losses: lastTrain?.losses ?? {},
    metrics: lastVal?.metrics ?? {},
    iter: lastTrain?.iter ?? lastVal?.iter ?? null,
  };
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

async function figureHtml(fig: Figure, scope: string, svgFile: string | null): Promise<string> {
  const standalone = await renderSvg(fig.spec);
  if (svgFile !== null) {
    await fs.mkdir(dirname(svgFile), { recursive: true });
    await fs.writeFile(svgFile, standalone);
  }
  const svg = scopeSvgIds(standalone, scope);
  return [
    `<figure id="${escapeHtml(scope)}">`,
    `<figcaption><strong>${escapeHtml(fig.title)}</strong>. ${escapeHtml(fig.caption)}</figcaption>`,
    svg,
    '</figure>',
  ].join('\n');
}

function comparisonTable(runs: RunFolder[]): string {
  const finals = runs.map(finalValues);
  const lossNames = [...new Set(finals.flatMap((f) => Object.keys(f.losses)))].sort();
  const metricNames = [...new Set(finals.flatMap((f) => Object.keys(f.metrics)))].sort();
  const header = ['run', 'last iteration', ...lossNames, ...metricNames];
  const rows = runs.map((r, i) => [
    r.name,
    formatNumber(finals[i]!.iter ?? undefined),
    ...lossNames.map((k) => formatNumber(finals[i]!.losses[k])),
    ...metricNames.map((k) => formatNumber(finals[i]!.metrics[k])),
  ]);
  return table(header, rows, 'wide');
}

/**
 * How well the head fits its targets at each statistics file's iteration: the positive anchors' top-1 class
 * accuracy and the correlation of predicted and target deltas per coordinate (files written before these
 * fields existed are skipped). Null when there is nothing to show.
 */
function headFitTable(run: RunFolder): string | null {
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
    '<h3>Head fit on training images</h3>' +
    '<p>Share of positive anchors whose top-scoring class is their label, and the correlation of predicted ' +
    'and target box deltas over the positive anchors.</p>' +
    table(
      ['iteration', 'top-1 of positives', 'corr. dx', 'corr. dy', 'corr. dw', 'corr. dh'],
      rows,
      'metrics',
    )
  );
}

/** A run name as a file-name part: anything but letters, digits, '.', '_' and '-' becomes '_'. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function runSection(
  run: RunFolder,
  runIndex: string,
  o: { maxConfigEntries: number; svgDir: string | null },
): Promise<string> {
  const parts = [`<section><h2>${escapeHtml(run.name)}</h2>`, `<p class="path">${escapeHtml(run.dir)}</p>`];
  if (run.config !== null) {
    const entries = flattenConfig(run.config);
    const shown = entries.slice(0, o.maxConfigEntries);
    parts.push('<h3>Configuration</h3>', table(['key', 'value'], shown, 'config'));
    if (entries.length > shown.length) parts.push(`<p>(${entries.length - shown.length} more entries)</p>`);
  }
  const final = run.finalEval ?? run.log.val[run.log.val.length - 1] ?? null;
  if (final !== null) {
    const names = Object.keys(final.metrics);
    const what = run.finalEval !== null ? 'Final COCO evaluation' : 'Last periodic evaluation';
    parts.push(
      `<h3>${what} (iteration ${final.iter})</h3>`,
      table(
        ['metric', 'value'],
        names.map((k) => [k, formatNumber(final.metrics[k])]),
        'metrics',
      ),
    );
  } else parts.push('<p>No evaluation results (eval.json or evaluation records in the log).</p>');
  const fit = headFitTable(run);
  if (fit !== null) parts.push(fit);
  const figs = runFigures(run);
  if (figs.length > 0) parts.push('<h3>Figures</h3>', '<div class="figures">');
  for (const f of figs) {
    const file = o.svgDir === null ? null : join(o.svgDir, `${safeName(run.name)}-${f.id}.svg`);
    parts.push(await figureHtml(f, `${runIndex}-${f.id}`, file));
  }
  if (figs.length > 0) parts.push('</div>');
  else parts.push('<p>No log records or gradient statistics to plot.</p>');
  parts.push('</section>');
  return parts.join('\n');
}

const CSS = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
.path { color: #666; font-family: monospace; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
td { font-variant-numeric: tabular-nums; } th { background: #f4f4f4; }
table.config td:first-child { font-family: monospace; }
.wide { display: block; overflow-x: auto; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; max-width: 100%; } figcaption { max-width: 620px; font-size: 0.9em; margin-bottom: 0.4em; }
svg { max-width: 100%; height: auto; }
`;

/** The report of already loaded runs, as one HTML string. */
export async function buildReport(runs: RunFolder[], options: ReportOptions = {}): Promise<string> {
  if (runs.length === 0) throw new Error('buildReport: runs is empty; expected at least one run folder');
  const o = { maxConfigEntries: options.maxConfigEntries ?? 80, svgDir: options.svgDir ?? null };
  const compareFile = (fig: Figure): string | null =>
    o.svgDir === null ? null : join(o.svgDir, `compare-${fig.id}.svg`);
  const title = options.title ?? `ghmdet report: ${runs.map((r) => r.name).join(', ')}`;
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`];
  if (runs.length > 1) {
    body.push('<h2>Comparison</h2>', comparisonTable(runs), '<div class="figures">');
    const metrics = [...new Set(runs.flatMap((r) => validationMetricNames(r.log)))];
    const headline = metrics.find((m) => /^bbox_mAP$|^AP$/.test(m)) ?? metrics[0];
    if (runs.some((r) => r.log.train.some((e) => e.losses['loss'] !== undefined))) {
      const fig = runComparisonFigure(runs, 'loss', 'loss');
      body.push(await figureHtml(fig, fig.id, compareFile(fig)));
    }
    if (headline !== undefined) {
      const fig = runComparisonFigure(runs, 'val', headline);
      body.push(await figureHtml(fig, fig.id, compareFile(fig)));
    }
    body.push('</div>');
  }
  for (const [i, run] of runs.entries()) body.push(await runSection(run, `run${i + 1}`, o));
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
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

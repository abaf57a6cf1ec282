/**
 * The paper's figures (spec section 5) as Vega-Lite specs, built from {@link GradientStats} and run logs:
 *
 *  - `gradientDistributionFigure`: fraction of examples per fine bin of g, log y (Fig. 2, Fig. 1 left);
 *  - `reweightedNormFigure`: per-example gradient norm after re-weighting against the original norm g: CE
 *    (y = g), focal loss (y = g^gamma (g - gamma (1-g) ln(1-g))) and GHM-C (y = g beta(g)), log y (Fig. 3,
 *    Fig. 1 middle); for regression ASL1 (y = g_r), smooth L1 and GHM-R;
 *  - `cumulativeContributionFigure`: share of the total gradient norm carried by examples with norm <= g, per
 *    loss, each normalised to 1 (Fig. 1 right);
 *  - `distributionOverTrainingFigure`: the distribution of g at each sampled iteration, coloured by iteration;
 *  - `lossCurvesFigure`, `validationFigure`: loss terms and evaluation metrics over iterations from log.jsonl;
 *  - `runComparisonFigure`: one metric of several runs over iterations.
 *
 * Evaluation metrics that COCO reports as absent (-1, nothing to measure: APl without large objects) are never
 * plotted: a metric absent at every evaluation has no line, and one absent at some evaluations has a gap there.
 *
 * Each builder takes the family (`classification` or `regression`) where both apply; the regression figures are
 * the same three plots over g_r with smooth L1 / ASL1 / GHM-R. Rendering to SVG is in renderSvg.ts.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { GradientStats, GhmRegions, NormHistogram } from './gradientStats.js';
import { focalGradientNorm, ghmWeightAt, smoothL1NormFromAsl1 } from './normCurves.js';
import { isAbsentMetric } from './absentMetric.js';
import type { EvalLogEntry, RunFolder, RunLogData } from './runFiles.js';

/** A figure: a stable id (file-name safe), a title, a one-sentence caption and its Vega-Lite spec. */
export interface Figure {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

export type GradientFamily = 'classification' | 'regression';

/**
 * Figure size in pixels, axes, titles and legend included (Vega-Lite `autosize: fit`): every figure has the same
 * outer size, so figures side by side in the report share one scale and line up.
 */
export const FIGURE_WIDTH = 620;
export const FIGURE_HEIGHT = 360;

/** Shared look: readable fonts, left-aligned titles, no frame. */
const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', grid: true, gridOpacity: 0.5 },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal' },
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start', subtitleColor: '#555' },
  view: { stroke: null },
  line: { strokeWidth: 2 },
} as const;

/** Fixed colours so a loss keeps its colour across figures. */
const LOSS_COLOURS: Record<string, string> = {
  CE: '#7f7f7f',
  'focal loss': '#1f77b4',
  'GHM-C': '#d62728',
  ASL1: '#7f7f7f',
  'smooth L1': '#1f77b4',
  'GHM-R': '#d62728',
};

type Row = Record<string, number | string | null>;

/** x encoding of the log figures: whole iterations only. */
const ITERATION_AXIS = {
  field: 'iter',
  type: 'quantitative',
  title: 'iteration',
  axis: { format: 'd', tickMinStep: 1 },
} as const;

function base(title: string, subtitle: string | undefined, rows: Row[]): Record<string, unknown> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: subtitle ? { text: title, subtitle } : title,
    width: FIGURE_WIDTH,
    height: FIGURE_HEIGHT,
    autosize: { type: 'fit', contains: 'padding' },
    config: CONFIG,
    data: { values: rows },
  };
}

/**
 * The builders assemble specs as plain objects (their literal types are wider than Vega-Lite's unions); the
 * rendering tests check that each one compiles and draws.
 */
function asSpec(spec: Record<string, unknown>): TopLevelSpec {
  return spec as unknown as TopLevelSpec;
}

function lossColour(names: string[]): { domain: string[]; range: string[] } {
  return { domain: names, range: names.map((n) => LOSS_COLOURS[n] ?? '#2ca02c') };
}

interface FamilyView {
  hist: NormHistogram;
  regions: GhmRegions;
  numValid: number;
  normTitle: string;
  names: { original: string; baseline: string; ghm: string };
  baselineNorm: (g: number) => number;
}

function familyView(stats: GradientStats, family: GradientFamily): FamilyView {
  if (family === 'classification') {
    const c = stats.classification;
    if (c === null) throw new Error('stats.classification is null; expected classification statistics');
    return {
      hist: c.fine,
      regions: c.ghmc,
      numValid: c.numValid,
      normTitle: 'gradient norm g = |p − p*|',
      names: { original: 'CE', baseline: 'focal loss', ghm: 'GHM-C' },
      baselineNorm: (g) => focalGradientNorm(g, c.focalGamma),
    };
  }
  const r = stats.regression;
  if (r === null) throw new Error('stats.regression is null; expected regression statistics');
  return {
    hist: r.fine,
    regions: r.ghmr,
    numValid: r.numValid,
    normTitle: 'ASL1 gradient norm g_r = |d| / √(d² + μ²)',
    names: { original: 'ASL1', baseline: 'smooth L1', ghm: 'GHM-R' },
    baselineNorm: (g) => smoothL1NormFromAsl1(g, r.mu, r.smoothL1Beta),
  };
}

function iterationText(stats: GradientStats): string {
  return stats.iteration === null ? 'iteration unknown' : `iteration ${stats.iteration}`;
}

const binCentre = (i: number, bins: number): number => (i + 0.5) / bins;

/** Fraction of the valid examples per fine bin (empty bins left out: the y axis is logarithmic). */
export function gradientDistributionFigure(
  stats: GradientStats,
  family: GradientFamily = 'classification',
): Figure {
  const v = familyView(stats, family);
  const n = Math.max(v.numValid, 1);
  const rows: Row[] = [];
  const add = (subset: string, counts: number[]): void =>
    counts.forEach((c, i) => {
      if (c > 0) rows.push({ g: binCentre(i, v.hist.bins), fraction: c / n, subset });
    });
  add('all', v.hist.counts);
  if (family === 'classification') {
    add('positives', stats.classification!.positiveCounts);
    add('negatives', stats.classification!.negativeCounts);
  }
  const what = family === 'classification' ? '(anchor, class) pairs' : 'positive box coordinates';
  const head = base(
    family === 'classification'
      ? 'Distribution of the gradient norm g'
      : 'Distribution of the regression gradient norm g_r',
    `${iterationText(stats)}; N = ${v.numValid} valid ${what}; ${v.hist.bins} bins`,
    rows,
  );
  const axes = {
    x: { field: 'g', type: 'quantitative', title: v.normTitle, scale: { domain: [0, 1] } },
    y: { field: 'fraction', type: 'quantitative', title: 'fraction of examples', scale: { type: 'log' } },
  };
  const subsets = ['all', 'negatives', 'positives'];
  const spec =
    family === 'classification'
      ? {
          ...head,
          encoding: {
            ...axes,
            color: {
              field: 'subset',
              type: 'nominal',
              title: 'examples',
              scale: { domain: subsets, range: ['#aaaaaa', '#1f77b4', '#d62728'] },
            },
          },
          // 'all' first and wide, so the subsets stay visible on top of it
          layer: [
            { transform: [{ filter: "datum.subset === 'all'" }], mark: { type: 'line', strokeWidth: 5 } },
            { transform: [{ filter: "datum.subset !== 'all'" }], mark: { type: 'line', strokeWidth: 1.75 } },
          ],
        }
      : // regression has no positive/negative split: one dark line, no legend
        { ...head, encoding: axes, mark: { type: 'line', strokeWidth: 2, color: '#333333' } };
  return {
    id: `${family}-distribution`,
    title:
      family === 'classification'
        ? 'Gradient norm distribution (Fig. 2)'
        : 'Regression gradient norm distribution',
    caption: `Fraction of the ${n} valid ${what} in each bin of the gradient norm, log scale.`,
    spec: asSpec(spec),
  };
}

/** Lower end of the re-weighted norm figure's log y axis (focal loss's norm falls below it as g -> 0). */
const REWEIGHTED_NORM_MIN = 1e-4;

/**
 * Re-weighted per-example gradient norm against the original norm, on a 400-point grid of g. The GHM curve is
 * drawn only where the batch had examples in the unit region (beta is undefined elsewhere); its gaps split the
 * line into segments.
 */
export function reweightedNormFigure(
  stats: GradientStats,
  family: GradientFamily = 'classification',
): Figure {
  const v = familyView(stats, family);
  const rows: Row[] = [];
  const points = 400;
  let segment = 0;
  let inGap = true;
  for (let k = 0; k < points; k++) {
    const g = (k + 0.5) / points;
    rows.push({ g, norm: g, loss: v.names.original, segment: 0 });
    rows.push({ g, norm: v.baselineNorm(g), loss: v.names.baseline, segment: 0 });
    const beta = ghmWeightAt(g, v.regions);
    if (beta === null) {
      inGap = true;
      continue;
    }
    if (inGap) segment++;
    inGap = false;
    rows.push({ g, norm: g * beta, loss: v.names.ghm, segment });
  }
  const names = [v.names.original, v.names.baseline, v.names.ghm];
  const spec = {
    ...base(
      'Re-weighted gradient norm',
      `${iterationText(stats)}; ${v.names.ghm} with the batch's own density (${v.regions.bins} unit regions)`,
      // inside the y domain only: points beyond it would widen the layout (and push the title off the figure)
      rows.filter((r) => (r['norm'] as number) >= REWEIGHTED_NORM_MIN),
    ),
    mark: { type: 'line', clip: true },
    encoding: {
      x: { field: 'g', type: 'quantitative', title: `original ${v.normTitle}`, scale: { domain: [0, 1] } },
      y: {
        field: 'norm',
        type: 'quantitative',
        title: 're-weighted gradient norm',
        scale: {
          type: 'log',
          domain: [REWEIGHTED_NORM_MIN, 2 * Math.max(5, ...v.regions.weights)],
          nice: true,
        },
      },
      color: { field: 'loss', type: 'nominal', title: 'loss', scale: lossColour(names) },
      detail: { field: 'segment', type: 'nominal' },
    },
  };
  return {
    id: `${family}-reweighted-norm`,
    title:
      family === 'classification'
        ? 'Re-weighted gradient norm: CE, focal loss, GHM-C (Fig. 3)'
        : 'Re-weighted gradient norm: ASL1, smooth L1, GHM-R',
    caption:
      family === 'classification'
        ? `Per-example gradient norm of each loss against the CE norm g: CE is y = g, focal loss (γ = ${stats.classification!.focalGamma}) suppresses small g, GHM-C (y = g·β(g)) suppresses both the dense easy and the very hard examples.`
        : 'Per-example gradient norm against the ASL1 norm g_r: smooth L1 saturates at 1, GHM-R (y = g_r·β(g_r)) follows the density of g_r.',
    spec: asSpec(spec),
  };
}

/** Cumulative share of the total gradient norm carried by examples with norm below g, per loss (each sums to 1). */
export function cumulativeContributionFigure(
  stats: GradientStats,
  family: GradientFamily = 'classification',
): Figure {
  const v = familyView(stats, family);
  const rows: Row[] = [];
  const series: [string, number[]][] = [
    [v.names.original, v.hist.sumNorm],
    [v.names.baseline, v.hist.sumBaselineNorm],
    [v.names.ghm, v.hist.sumGhmNorm],
  ];
  for (const [loss, sums] of series) {
    const total = sums.reduce((a, b) => a + b, 0);
    let acc = 0;
    rows.push({ g: 0, share: 0, loss });
    sums.forEach((s, i) => {
      acc += s;
      rows.push({ g: (i + 1) / v.hist.bins, share: total > 0 ? acc / total : 0, loss });
    });
  }
  const names = series.map((s) => s[0]);
  const spec = {
    ...base('Cumulative gradient contribution', `${iterationText(stats)}; each loss normalised to 1`, rows),
    mark: { type: 'line' },
    encoding: {
      x: { field: 'g', type: 'quantitative', title: v.normTitle, scale: { domain: [0, 1] } },
      y: {
        field: 'share',
        type: 'quantitative',
        title: 'share of total gradient norm',
        scale: { domain: [0, 1] },
        axis: { format: '%' },
      },
      color: { field: 'loss', type: 'nominal', title: 'loss', scale: lossColour(names) },
    },
  };
  return {
    id: `${family}-cumulative-contribution`,
    title:
      family === 'classification'
        ? 'Cumulative gradient contribution (Fig. 1 right)'
        : 'Cumulative regression gradient contribution',
    caption: `Share of each loss's total gradient norm carried by the examples with ${family === 'classification' ? 'g' : 'g_r'} at most x.`,
    spec: asSpec(spec),
  };
}

/** The distribution of the gradient norm at each sampled iteration, one line per iteration. */
export function distributionOverTrainingFigure(
  statsList: GradientStats[],
  family: GradientFamily = 'classification',
): Figure {
  const rows: Row[] = [];
  statsList.forEach((s, k) => {
    const v = familyView(s, family);
    const n = Math.max(v.numValid, 1);
    const iteration = s.iteration ?? k;
    v.hist.counts.forEach((c, i) => {
      if (c > 0) rows.push({ g: binCentre(i, v.hist.bins), fraction: c / n, iteration });
    });
  });
  const normTitle = statsList.length > 0 ? familyView(statsList[0]!, family).normTitle : 'gradient norm';
  const spec = {
    ...base(
      family === 'classification' ? 'Distribution of g over training' : 'Distribution of g_r over training',
      `${statsList.length} sampled iterations`,
      rows,
    ),
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'g', type: 'quantitative', title: normTitle, scale: { domain: [0, 1] } },
      y: { field: 'fraction', type: 'quantitative', title: 'fraction of examples', scale: { type: 'log' } },
      color: {
        field: 'iteration',
        type: 'quantitative',
        title: 'iteration',
        scale: { scheme: 'viridis', extent: [0, 0.85] },
      },
      detail: { field: 'iteration', type: 'quantitative' },
    },
  };
  return {
    id: `${family}-distribution-over-training`,
    title:
      family === 'classification'
        ? 'Gradient norm distribution over training'
        : 'Regression gradient norm over training',
    caption: 'Each line is the distribution at one sampled iteration; darker is earlier, green later.',
    spec: asSpec(spec),
  };
}

/** Loss terms of the `train` records over iterations (log y when every value is positive). */
export function lossCurvesFigure(log: RunLogData, runName?: string): Figure {
  const rows: Row[] = [];
  for (const e of log.train)
    for (const [term, value] of Object.entries(e.losses)) rows.push({ iter: e.iter, value, term });
  const positive = rows.length > 0 && rows.every((r) => (r['value'] as number) > 0);
  const spec = {
    ...base('Training loss', runName, rows),
    mark: { type: 'line' },
    encoding: {
      x: ITERATION_AXIS,
      y: {
        field: 'value',
        type: 'quantitative',
        title: 'loss',
        scale: positive ? { type: 'log' } : { zero: true },
      },
      color: { field: 'term', type: 'nominal', title: 'term' },
    },
  };
  return {
    id: 'loss-curves',
    title: 'Loss curves',
    caption: 'Loss terms logged by the trainer (means over each logging interval).',
    spec: asSpec(spec),
  };
}

/**
 * Names of the metrics plotted by `validationFigure`: the mAP family when present, else every metric; a metric
 * absent (-1) at every evaluation is left out.
 */
export function validationMetricNames(log: RunLogData): string[] {
  const present = new Set(
    log.val.flatMap((e) => Object.keys(e.metrics).filter((k) => !isAbsentMetric(e.metrics[k]!))),
  );
  const all = [...new Set(log.val.flatMap((e) => Object.keys(e.metrics)))].filter((k) => present.has(k));
  const ap = all.filter((k) => /mAP|^AP/i.test(k));
  return ap.length > 0 ? ap : all;
}

/**
 * The points of one metric over the evaluation records, absent ones (-1, or not logged) left out. Each run of
 * consecutive present points gets its own `segment` label (`<series>#<k>`), and the line figures draw one path
 * per segment, so an absent evaluation is a gap in the line, never a value.
 */
function metricPoints(records: EvalLogEntry[], metric: string, series: string): Row[] {
  const rows: Row[] = [];
  let segment = 0;
  let inGap = true;
  for (const e of records) {
    const value = e.metrics[metric];
    if (value === undefined || isAbsentMetric(value)) {
      inGap = true;
      continue;
    }
    if (inGap) segment++;
    inGap = false;
    rows.push({ iter: e.iter, value, segment: `${series}#${segment}` });
  }
  return rows;
}

/** Evaluation metrics of the `val` records over iterations (absent values left out, see {@link metricPoints}). */
export function validationFigure(log: RunLogData, runName?: string): Figure {
  const rows: Row[] = validationMetricNames(log).flatMap((metric) =>
    metricPoints(log.val, metric, metric).map((r) => ({ ...r, metric })),
  );
  const spec = {
    ...base('Validation AP', runName, rows),
    mark: { type: 'line', point: true },
    encoding: {
      x: ITERATION_AXIS,
      y: { field: 'value', type: 'quantitative', title: 'value', scale: { zero: true } },
      color: { field: 'metric', type: 'nominal', title: 'metric' },
      detail: { field: 'segment', type: 'nominal' },
    },
  };
  return {
    id: 'validation',
    title: 'Validation metrics',
    caption:
      'COCO-style metrics of the periodic evaluations; a metric with nothing to measure (-1) is left out.',
    spec: asSpec(spec),
  };
}

/**
 * One quantity of several runs over iterations: a loss term of the `train` records (`kind: 'loss'`) or an
 * evaluation metric (`kind: 'val'`), one line per run.
 */
export function runComparisonFigure(runs: RunFolder[], kind: 'loss' | 'val', name: string): Figure {
  const rows: Row[] = [];
  for (const [i, run] of runs.entries()) {
    if (kind === 'loss') {
      for (const e of run.log.train)
        if (e.losses[name] !== undefined)
          rows.push({ iter: e.iter, value: e.losses[name]!, run: run.name, segment: `${i}` });
    } else {
      for (const r of metricPoints(run.log.val, name, `${i}`)) rows.push({ ...r, run: run.name });
    }
  }
  const positive = kind === 'loss' && rows.length > 0 && rows.every((r) => (r['value'] as number) > 0);
  const spec = {
    ...base(`${name} by run`, `${runs.length} runs`, rows),
    mark: { type: 'line', point: kind === 'val' },
    encoding: {
      x: ITERATION_AXIS,
      y: {
        field: 'value',
        type: 'quantitative',
        title: name,
        scale: positive ? { type: 'log' } : { zero: true },
      },
      color: { field: 'run', type: 'nominal', title: 'run' },
      detail: { field: 'segment', type: 'nominal' },
    },
  };
  return {
    id: `compare-${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    title: `${name} by run`,
    caption: kind === 'loss' ? `Training ${name} of each run.` : `Evaluation ${name} of each run.`,
    spec: asSpec(spec),
  };
}

/**
 * The paper's figures of one run's gradient statistics, for `family`: from the last statistics file the
 * distribution, re-weighted norm and cumulative contribution, and the distribution over training when there are
 * several files. None when the run has no statistics of that family.
 */
export function gradientFigures(run: RunFolder, family: GradientFamily): Figure[] {
  const withFamily = run.gradStats.filter((s) => s[family] !== null);
  const last = withFamily[withFamily.length - 1];
  if (last === undefined) return [];
  const figs = [
    gradientDistributionFigure(last, family),
    reweightedNormFigure(last, family),
    cumulativeContributionFigure(last, family),
  ];
  if (withFamily.length > 1) figs.push(distributionOverTrainingFigure(withFamily, family));
  return figs;
}

/** The curves of one run's log: loss terms, and the validation metrics when the log has evaluations. */
export function curveFigures(run: RunFolder): Figure[] {
  const figs: Figure[] = [];
  if (run.log.train.length > 0) figs.push(lossCurvesFigure(run.log, run.name));
  if (validationMetricNames(run.log).length > 0) figs.push(validationFigure(run.log, run.name));
  return figs;
}

/**
 * Every figure of one run in the report's order: the gradient figures of classification, then of regression
 * ({@link gradientFigures}), then the curves ({@link curveFigures}).
 */
export function runFigures(run: RunFolder): Figure[] {
  return [
    ...gradientFigures(run, 'classification'),
    ...gradientFigures(run, 'regression'),
    ...curveFigures(run),
  ];
}

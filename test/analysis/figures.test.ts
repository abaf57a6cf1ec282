import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupBackend } from '../../src/engine/backend.js';
import {
  cumulativeContributionFigure,
  distributionOverTrainingFigure,
  gradientDistributionFigure,
  lossCurvesFigure,
  reweightedNormFigure,
  runComparisonFigure,
  validationFigure,
  validationMetricNames,
  type Figure,
} from '../../src/analysis/figures.js';
import { focalGradientNorm, ghmWeightAt, smoothL1NormFromAsl1 } from '../../src/analysis/normCurves.js';
import { renderSvg } from '../../src/analysis/renderSvg.js';
import { parseRunLog, type RunFolder } from '../../src/analysis/runFiles.js';
import { logText, smallStats } from './fixtures.js';

type Row = Record<string, number | string>;
const rows = (f: Figure): Row[] => (f.spec as unknown as { data: { values: Row[] } }).data.values;
const close = (a: number, b: number, tol = 1e-9): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

test('normCurves: focal norm, smooth L1 from g_r, GHM weight lookup', () => {
  close(focalGradientNorm(0.5, 2), 0.25 * (0.5 + 2 * 0.5 * Math.log(2)));
  close(focalGradientNorm(1, 2), 1);
  close(focalGradientNorm(0, 2), 0);
  close(focalGradientNorm(0.3, 0), 0.3); // gamma 0 is CE
  const mu = 0.02;
  for (const d of [0.001, 0.05, 0.3]) {
    const gr = d / Math.sqrt(d * d + mu * mu);
    close(smoothL1NormFromAsl1(gr, mu, 0.11), Math.min(d / 0.11, 1), 1e-9);
  }
  assert.equal(smoothL1NormFromAsl1(1, mu, 0.11), 1);
  const regions = { bins: 4, counts: [2, 0, 1, 1], weights: [0.5, 0, 1, 1], nonEmpty: 3, total: 4 };
  assert.equal(ghmWeightAt(0.1, regions), 0.5);
  assert.equal(ghmWeightAt(0.3, regions), null);
  assert.equal(ghmWeightAt(1, regions), 1);
});

test('figures: data of the gradient figures follows the statistics', async () => {
  await setupBackend({ backend: 'cpu' });
  const s = smallStats(300);
  const c = s.classification!;
  const dist = rows(gradientDistributionFigure(s));
  const all = dist.filter((r) => r['subset'] === 'all');
  close(
    all.reduce((a, r) => a + (r['fraction'] as number), 0),
    1,
  );
  assert.equal(all.length, c.fine.counts.filter((n) => n > 0).length);
  const pos = dist.filter((r) => r['subset'] === 'positives');
  close(
    pos.reduce((a, r) => a + (r['fraction'] as number), 0),
    c.numPositive / c.numValid,
  );

  const rw = rows(reweightedNormFigure(s));
  for (const r of rw) {
    const g = r['g'] as number;
    if (r['loss'] === 'CE') close(r['norm'] as number, g);
    if (r['loss'] === 'focal loss') close(r['norm'] as number, focalGradientNorm(g, 2));
    if (r['loss'] === 'GHM-C') close(r['norm'] as number, g * ghmWeightAt(g, c.ghmc)!);
  }
  const ghm = rw.filter((r) => r['loss'] === 'GHM-C');
  assert.ok(ghm.length > 0);
  // only occupied regions are drawn; each gap starts a new line segment
  const occupied = c.ghmc.counts.filter((n) => n > 0).length;
  assert.ok(new Set(ghm.map((r) => r['segment'])).size <= occupied);
  assert.ok(ghm.every((r) => c.ghmc.counts[Math.min(Math.floor((r['g'] as number) * 30), 29)]! > 0));

  const cum = rows(cumulativeContributionFigure(s));
  for (const loss of ['CE', 'focal loss', 'GHM-C']) {
    const series = cum.filter((r) => r['loss'] === loss).map((r) => r['share'] as number);
    assert.equal(series.length, c.fine.bins + 1);
    assert.equal(series[0], 0);
    close(series[series.length - 1]!, 1, 1e-9);
    for (let i = 1; i < series.length; i++) assert.ok(series[i]! >= series[i - 1]! - 1e-12);
  }
  const reg = rows(cumulativeContributionFigure(s, 'regression'));
  assert.deepEqual([...new Set(reg.map((r) => r['loss']))], ['ASL1', 'smooth L1', 'GHM-R']);
  assert.throws(
    () => gradientDistributionFigure({ ...s, regression: null }, 'regression'),
    /stats.regression is null/,
  );

  const over = rows(distributionOverTrainingFigure([smallStats(10, 0), smallStats(20, 2)]));
  assert.deepEqual([...new Set(over.map((r) => r['iteration']))], [10, 20]);
});

test('figures: every figure renders to an SVG with its title, axis titles and line marks', async () => {
  await setupBackend({ backend: 'cpu' });
  const s = smallStats(300);
  const log = parseRunLog(logText(60, [30, 60]));
  const run: RunFolder = {
    dir: 'runs/a',
    name: 'a',
    config: null,
    log,
    gradStats: [s],
    finalEval: null,
    drawn: [],
  };
  const figs = [
    gradientDistributionFigure(s),
    reweightedNormFigure(s),
    cumulativeContributionFigure(s),
    gradientDistributionFigure(s, 'regression'),
    reweightedNormFigure(s, 'regression'),
    cumulativeContributionFigure(s, 'regression'),
    distributionOverTrainingFigure([smallStats(10, 0), s]),
    lossCurvesFigure(log, 'a'),
    validationFigure(log, 'a'),
    runComparisonFigure([run, { ...run, name: 'b' }], 'val', 'bbox_mAP'),
  ];
  assert.equal(new Set(figs.map((f) => f.id)).size, figs.length);
  for (const f of figs) {
    const svg = await renderSvg(f.spec);
    assert.match(svg, /^<svg [^>]*width="\d+"/);
    assert.ok(svg.includes('mark-line role-mark'), `${f.id}: no line marks`);
    const title = (f.spec as unknown as { title: string | { text: string } }).title;
    const text = typeof title === 'string' ? title : title.text;
    assert.ok(svg.includes(`>${text}<`), `${f.id}: title ${text} missing`);
    // every figure has the same outer size, and its title lies inside it (an axis title longer than the plot
    // once pushed the title above the top edge)
    assert.match(svg, /^<svg [^>]*width="620" height="360"/);
    const root = /transform="translate\(([-\d.]+),([-\d.]+)\)"/.exec(svg)!;
    const titleAt = /role-title"><g transform="translate\(([-\d.]+),([-\d.]+)\)"/.exec(svg)!;
    assert.ok(Number(root[2]) + Number(titleAt[2]) >= 0, `${f.id}: title above the figure`);
  }
  const distSvg = await renderSvg(figs[0]!.spec);
  assert.ok(distSvg.includes('>fraction of examples<'));
  assert.ok(distSvg.includes('gradient norm g = |p − p*|'));
  const lossRows = rows(figs[7]!);
  assert.deepEqual([...new Set(lossRows.map((r) => r['term']))].sort(), ['loss', 'loss_bbox', 'loss_cls']);
  // bbox_mAP_l is -1 (absent) at every evaluation of the fixture log: not a metric to plot
  assert.deepEqual(validationMetricNames(log), ['bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_s']);
  assert.deepEqual([...new Set(rows(figs[9]!).map((r) => r['run']))], ['a', 'b']);
});

test('figures: a metric absent (-1) at every evaluation has no line, one absent at some is a gap', () => {
  const log = parseRunLog(logText(60, [20, 40, 60]));
  const run: RunFolder = {
    dir: 'runs/a',
    name: 'a',
    config: null,
    log,
    gradStats: [],
    finalEval: null,
    drawn: [],
  };
  for (const fig of [
    validationFigure(log, 'a'),
    runComparisonFigure([run, { ...run, name: 'b' }], 'val', 'bbox_mAP_s'),
  ]) {
    const data = rows(fig);
    assert.ok(data.length > 0);
    assert.ok(
      data.every((r) => r['value'] !== -1),
      `${fig.id}: a -1 is plotted`,
    );
    assert.ok(
      data.every((r) => r['metric'] !== 'bbox_mAP_l'),
      `${fig.id}: bbox_mAP_l is plotted`,
    );
    // bbox_mAP_s: present at 20 and 60, absent at 40: two segments per line, so the path breaks at 40
    const small = data.filter((r) => r['metric'] === 'bbox_mAP_s' || fig.id.startsWith('compare-'));
    for (const series of new Set(small.map((r) => r['run'] ?? r['metric']))) {
      const points = small.filter((r) => (r['run'] ?? r['metric']) === series);
      assert.deepEqual(
        points.map((r) => r['iter']),
        [20, 60],
      );
      assert.equal(new Set(points.map((r) => r['segment'])).size, 2, `${fig.id} ${series}: no gap at 40`);
    }
    const encoding = (fig.spec as unknown as { encoding: Record<string, { field: string }> }).encoding;
    assert.equal(encoding['detail']!.field, 'segment');
  }
  assert.deepEqual(
    rows(runComparisonFigure([run], 'val', 'bbox_mAP_l')),
    [],
    'a metric absent at every evaluation has no points',
  );
});

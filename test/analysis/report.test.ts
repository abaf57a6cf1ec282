import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { setupBackend } from '../../src/engine/backend.js';
import { escapeHtml, flattenConfig, writeReport } from '../../src/analysis/report.js';
import { runFigures } from '../../src/analysis/figures.js';
import { readRunFolder } from '../../src/analysis/runFiles.js';
import { run as reportCommand } from '../../src/cli/report.js';
import { tempDir, writeRun } from './fixtures.js';

/**
 * Checks that the page fetches nothing: no scripts, stylesheets, fonts or remote references; images only inline
 * (`data:` URIs).
 */
function assertSelfContained(html: string): void {
  assert.doesNotMatch(html, /<script|<link|<iframe|@import|url\((?!#)/i); // url(#id): in-page reference
  assert.doesNotMatch(html, /<img(?![^>]*\ssrc="data:image\/(png|jpeg);base64,)/i);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']https?:/i);
}

const count = (html: string, s: string): number => html.split(s).length - 1;

test('report: helpers escape HTML and flatten configs', () => {
  assert.equal(escapeHtml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  assert.deepEqual(flattenConfig({ a: { b: 1, c: 'x' }, d: [1, 2], e: null }), [
    ['a.b', '1'],
    ['a.c', 'x'],
    ['d', '[1,2]'],
    ['e', 'null'],
  ]);
});

test('report: one run and a set of runs give self-contained pages with one <svg per figure', async () => {
  await setupBackend({ backend: 'cpu' });
  const dir = await tempDir('report');
  try {
    const a = await writeRun(join(dir, 'ghmc'), {
      iters: 60,
      evalIters: [30, 60],
      statsIters: [20, 60],
      finalEval: true,
    });
    const b = await writeRun(join(dir, 'focal<b>'), {
      iters: 60,
      evalIters: [60],
      statsIters: [],
      apScale: 0.5,
    });

    const one = await writeReport([a], join(dir, 'out', 'one.html'));
    assertSelfContained(one);
    assert.equal(await fs.readFile(join(dir, 'out', 'one.html'), 'utf8'), one);
    // loss, validation, and for each family distribution, re-weighted norm, cumulative, over training
    assert.equal(count(one, '<figure'), 2 + 2 * 4);
    assert.equal(count(one, '<svg'), count(one, '<figure'));
    assert.match(one, /<title>ghmdet report: ghmc<\/title>/);
    assert.match(one, /<td>loss_cls.type<\/td><td>GHMC<\/td>/);
    assert.match(one, /Final COCO evaluation \(iteration 60\)/);
    assert.match(one, /<td>AP@\[.50:.95\]\|all\|100<\/td><td>0.3125<\/td>/);
    // -1 (absent) is named, not tabulated
    assert.doesNotMatch(one, /<td>AP@\[.50:.95\]\|small\|100<\/td>/);
    assert.match(one, /Left out, nothing to measure [^<]*: AP@\[.50:.95\]\|small\|100\./);
    // the head fit, one row per statistics file (iterations 20 and 60)
    assert.match(one, /<h3>Head fit on training images<\/h3>/);
    assert.match(one, /<tr><td>20<\/td><td>[\d.]+<\/td>(<td>-?[\d.]+<\/td>){4}<\/tr>/);
    assert.match(one, /<tr><td>60<\/td>/);

    // the set of runs goes through the command line
    const out = join(dir, 'two.html');
    const lines: string[] = [];
    const log = console.log;
    console.log = (l: string) => lines.push(l);
    try {
      assert.equal(
        await reportCommand([a, b, '--out', out, '--title', 'GHM vs FL', '--svg-dir', join(dir, 'svg')]),
        0,
      );
    } finally {
      console.log = log;
    }
    assert.match(lines[0]!, /report: wrote .*two.html \(2 run\(s\), 14 figures/);
    const two = await fs.readFile(out, 'utf8');
    assertSelfContained(two);
    assert.match(two, /<h1>GHM vs FL<\/h1>/);
    assert.match(two, /<h2>focal&lt;b&gt;<\/h2>/);
    // comparison: 2 figures; run a: 10; run b (no statistics): loss + validation
    assert.equal(count(two, '<figure'), 2 + 10 + 2);
    assert.equal(count(two, '<svg'), count(two, '<figure'));
    // --svg-dir: the same figures as standalone SVG files, named by run (unsafe characters replaced)
    const svgs = (await fs.readdir(join(dir, 'svg'))).sort();
    assert.equal(svgs.length, count(two, '<figure'));
    assert.equal(svgs.filter((f) => f.startsWith('compare-')).length, 2);
    assert.equal(svgs.filter((f) => f.startsWith('ghmc-')).length, 10);
    assert.equal(svgs.filter((f) => f.startsWith('focal_b_-')).length, 2);
    for (const f of svgs)
      assert.match(await fs.readFile(join(dir, 'svg', f), 'utf8'), /^<svg[^>]*>[\s\S]*<\/svg>\s*$/);
    // the comparison speaks one vocabulary whether a run has eval.json (a) or only periodic evaluations (b)
    assert.match(
      two,
      /<tr><td>ghmc<\/td><td>60<\/td><td>1:00<\/td><td>final, iteration 60<\/td><td>0.313<\/td><td>0.500<\/td><td>0.250<\/td><td>–<\/td>/,
    );
    assert.match(
      two,
      /<tr><td>focal&lt;b&gt;<\/td><td>60<\/td><td>1:00<\/td><td>periodic, iteration 60<\/td><td>0.050<\/td><td>0.100<\/td><td>–<\/td><td>0.025<\/td>/,
    );
    assert.doesNotMatch(two, /<th>(bbox_mAP|AP@)[^<]*<\/th>/);
    assert.match(two, /Last periodic evaluation \(iteration 60\)/);
    // ids inside the inline SVGs (clip paths, gradients) are unique in the page, and every url(#id) resolves
    const ids = [...two.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!);
    assert.equal(new Set(ids).size, ids.length);
    for (const m of two.matchAll(/url\(#([^)]+)\)/g))
      assert.ok(ids.includes(m[1]!), `dangling url(#${m[1]})`);
    await assert.rejects(reportCommand([]), {
      name: 'UsageError',
      exitCode: 2,
      message: /missing required argument 'RUN_DIR'/,
    });
    await assert.rejects(writeReport([join(dir, 'missing')], out), /missing: not a run folder/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('report: a run folder with only its config gives a page without figures that says why', async () => {
  const dir = await tempDir('report-empty');
  try {
    await fs.writeFile(join(dir, 'config.json'), JSON.stringify({ model: { numClasses: 4 } }));
    const html = await writeReport([dir], join(dir, 'r.html'));
    assertSelfContained(html);
    assert.equal(count(html, '<svg'), 0);
    assert.match(html, /No evaluation results/);
    assert.match(html, /No log records or gradient statistics to plot/);
    assert.match(html, /<td>model.numClasses<\/td><td>4<\/td>/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('report: a results page: headline with drawn images, paper figures, curves, evaluation, configuration last; no -1 plotted', async () => {
  await setupBackend({ backend: 'cpu' });
  const dir = await tempDir('report-order');
  try {
    const runDir = await writeRun(join(dir, 'shapes-ghm'), {
      iters: 60,
      evalIters: [20, 40, 60],
      statsIters: [20, 60],
      finalEval: true,
      drawn: 6,
    });
    const html = await writeReport([runDir], join(dir, 'report.html'));
    assertSelfContained(html);

    // the sections, each once, in reading order
    const markers = [
      '<section class="headline">',
      '<section class="gradient-figures">',
      '<section class="curves">',
      '<section class="evaluation">',
      '<details class="configuration">',
    ];
    for (const m of markers) assert.equal(count(html, m), 1, m);
    const at = markers.map((m) => html.indexOf(m));
    assert.deepEqual(
      [...at].sort((a, b) => a - b),
      at,
      'sections out of order',
    );
    const [headline, gradients, curves, evaluation, configuration] = at as [
      number,
      number,
      number,
      number,
      number,
    ];
    // headline: AP, AP50, AP75 of eval.json first; AP small is -1 there, so it has no card; the training time
    const head = html.slice(headline, gradients);
    const cards = [
      ...head.matchAll(/<div class="value">([^<]+)<\/div><div class="label">([^<]+)<\/div>/g),
    ].map((m) => `${m[2]} ${m[1]}`);
    assert.deepEqual(cards, ['AP 0.313', 'AP50 0.500', 'AP75 0.250', 'training time 1:00']);
    assert.match(head, /COCO evaluation of the final model \(iteration 60\)/);
    assert.match(head, /loss_cls GHMC, loss_bbox GHMR/);
    // the drawn images (4 of 6 by default), inline, before any figure
    assert.equal(count(head, '<img src="data:image/png;base64,'), 4);
    assert.match(head, /4 of 6 in drawn\//);
    assert.ok(html.indexOf('<figure') > gradients, 'a figure before the gradient section');
    // the gradient figures (2 families x 4), then the curves (loss, validation)
    const figureIds = (from: number, to: number): string[] =>
      [...html.slice(from, to).matchAll(/<figure id="run1-([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(figureIds(gradients, curves), [
      'classification-distribution',
      'classification-reweighted-norm',
      'classification-cumulative-contribution',
      'classification-distribution-over-training',
      'regression-distribution',
      'regression-reweighted-norm',
      'regression-cumulative-contribution',
      'regression-distribution-over-training',
    ]);
    assert.deepEqual(figureIds(curves, evaluation), ['loss-curves', 'validation']);
    // the configuration, collapsed: <details> without the open attribute, holding the config table
    assert.ok(html.indexOf('<td>loss_cls.type</td><td>GHMC</td>') > configuration);

    // no -1 anywhere: not in the figures' data, not in a table, not in a legend
    const figs = runFigures(await readRunFolder(runDir));
    assert.deepEqual(
      figs.map((f) => f.id),
      [...figureIds(gradients, curves), ...figureIds(curves, evaluation)],
      'the report shows runFigures in order',
    );
    for (const f of figs) {
      const values = (f.spec as unknown as { data: { values: Record<string, unknown>[] } }).data.values;
      assert.ok(!values.some((r) => r['value'] === -1), `${f.id}: plots a -1`);
    }
    const validation = figs.find((f) => f.id === 'validation')!;
    const plotted = new Set(
      (validation.spec as unknown as { data: { values: { metric: string }[] } }).data.values.map(
        (r) => r.metric,
      ),
    );
    assert.deepEqual([...plotted].sort(), ['bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_s']);
    assert.doesNotMatch(html, /bbox_mAP_l/);
    assert.doesNotMatch(html, /<td>-1<\/td>/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

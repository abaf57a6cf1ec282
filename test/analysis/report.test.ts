import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { setupBackend } from '../../src/engine/backend.js';
import { escapeHtml, flattenConfig, writeReport } from '../../src/analysis/report.js';
import { run as reportCommand } from '../../src/cli/report.js';
import { tempDir, writeRun } from './fixtures.js';

/** Checks that the page fetches nothing: no scripts, stylesheets, fonts, images or remote references. */
function assertSelfContained(html: string): void {
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\((?!#)/i); // url(#id): in-page reference
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
    assert.match(one, /<td>AP@\[.50:.95\]\|small\|100<\/td><td>-1<\/td>/);
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
    assert.match(two, /<th>bbox_mAP<\/th>/);
    assert.match(two, /<th>AP@\[.50:.95\]\|all\|100<\/th>/);
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

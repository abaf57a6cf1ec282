import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { renderSplitImage, resolveShapesOptions, type Detection } from '../../src/entry/detector.js';
import { findChromium, launchChromium, missingBrowserNote, REQUIRE_BROWSER } from './chromium.js';
import { ROOT } from '../package/dist.js';
import { setupBackend } from '../../src/engine/backend.js';
import { runLossProbe } from '../../web/src/lossProbe.js';
import { compareProbe } from '../losses/compareProbe.js';

// The playground's build and server (plain JavaScript modules of web/).
const { buildWeb } = (await import(join(ROOT, 'web/build.mjs'))) as { buildWeb: () => Promise<unknown> };
const { startServer } = (await import(join(ROOT, 'web/server.mjs'))) as {
  startServer: (o: {
    mounts: Record<string, string>;
  }) => Promise<{ url: string; close: () => Promise<void> }>;
};

const executable = findChromium();
const ITERATIONS = 40;

interface Shown {
  backend: { name: string } | null;
  iteration: number;
  losses: number[];
  histograms: number[][];
  weights: number[][];
  chartsRendered: number;
  detectionsDrawn: number;
  done: boolean;
  modelStatus: string;
  dropped: Detection[] | null;
  exampleLines: string[];
  exampleDone: boolean;
  errors: string[];
}

const shownOf = (page: Page) =>
  page.evaluate(() => (window as unknown as { ghmdetPlayground: Shown }).ghmdetPlayground);

async function waitFor(page: Page, what: string, ok: (s: Shown) => boolean, seconds: number): Promise<Shown> {
  const t0 = Date.now();
  for (;;) {
    const s = await shownOf(page);
    if (s.errors.length > 0)
      throw new Error(`the page reported errors while waiting for ${what}: ${s.errors.join('; ')}`);
    if (ok(s)) return s;
    if (Date.now() - t0 > seconds * 1000)
      throw new Error(
        `timed out after ${seconds} s waiting for ${what}: ${JSON.stringify({ ...s, losses: s.losses.length })}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function iouXywh(a: number[], b: number[]): number {
  const iw = Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!);
  const ih = Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!);
  if (iw <= 0 || ih <= 0) return 0;
  return (iw * ih) / (a[2]! * a[3]! + b[2]! * b[3]! - iw * ih);
}

if (executable === null) {
  if (REQUIRE_BROWSER) {
    test('browser tests: a Chromium is required (GHMDET_REQUIRE_BROWSER=1)', () => {
      assert.fail(missingBrowserNote());
    });
  } else {
    console.log(`browser tests NOT RUN: ${missingBrowserNote()}`);
    test('browser tests (playground, losses on wasm and webgl)', {
      skip: `NOT RUN: ${missingBrowserNote()}`,
    });
  }
} else {
  test('in Chromium (one browser for both)', async (t) => {
    await buildWeb();
    const server = await startServer({ mounts: { '/fixtures/': join(ROOT, 'test/fixtures') } });
    const browser = await launchChromium(executable);
    try {
      await t.test(
        'playground: trains in a worker, the figures move, detections appear, a dropped image gets boxes, the example runs',
        async () => {
          const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
          const consoleErrors: string[] = [];
          page.on('console', (m) => {
            if (m.type() === 'error') consoleErrors.push(m.text());
          });
          page.on('pageerror', (e) => consoleErrors.push(e.message));
          await page.goto(
            `${server.url}?loss=GHM-C&backend=wasm&batch=8&iterations=${ITERATIONS}&autostart=1&minScore=0` +
              '&model=/fixtures/shapes-model/model.json',
          );
          const s = await waitFor(
            page,
            `${ITERATIONS} iterations`,
            (x) => x.done && x.modelStatus !== 'loading',
            150,
          );
          assert.equal(s.backend?.name, 'wasm');
          assert.equal(s.iteration, ITERATIONS);
          assert.equal(s.losses.length, ITERATIONS);
          const first = mean(s.losses.slice(0, 10));
          const last = mean(s.losses.slice(-10));
          assert.ok(last < 0.7 * first, `the loss did not fall: ${first} -> ${last}`);
          assert.ok(s.histograms.length >= 2, `${s.histograms.length} histograms`);
          assert.notDeepEqual(
            s.histograms[0],
            s.histograms[s.histograms.length - 1],
            'the histogram of g never changed',
          );
          assert.notDeepEqual(
            s.weights[0],
            s.weights[s.weights.length - 1],
            'the GHM-C weights never changed',
          );
          assert.ok(s.chartsRendered >= 8, `${s.chartsRendered} charts rendered`);
          assert.ok(s.detectionsDrawn > 0, 'no detection was drawn on the validation images');
          assert.equal(s.modelStatus, 'loaded', 'the model fixture did not load over http');

          // Drop a validation shapes image (PNG) on the page: the saved model must find an object in it.
          const shapes = resolveShapesOptions({
            size: 64,
            minObjectSize: 0.2,
            maxObjectSize: 0.6,
            maxDistractors: 1,
          });
          const image = renderSplitImage(shapes, 'val', 10);
          const png = await sharp(image.pixels, { raw: { width: 64, height: 64, channels: 3 } })
            .png()
            .toBuffer();
          await page.fill('#minScore', '0.3');
          const dataTransfer = await page.evaluateHandle((b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'shapes.png', { type: 'image/png' }));
            return dt;
          }, png.toString('base64'));
          await page.dispatchEvent('#drop', 'drop', { dataTransfer });
          const dropped = (
            await waitFor(page, 'detections on the dropped image', (x) => x.dropped !== null, 30)
          ).dropped!;
          assert.ok(dropped.length > 0, 'no box on the dropped image');
          // Some box lies on an object (IoU >= 0.5) and names its class.
          const hits = dropped.filter((d) =>
            image.objects.some((o) => {
              const [x1, y1, x2, y2] = o.bboxXyxy;
              return o.classIndex === d.classIndex && iouXywh(d.bbox, [x1, y1, x2 - x1, y2 - y1]) >= 0.5;
            }),
          );
          assert.ok(hits.length > 0, `no box found an object with its class: ${JSON.stringify(dropped)}`);

          // The library example, as written, in a worker.
          await page.click('#runExample');
          const ex = await waitFor(page, 'the example', (x) => x.exampleDone, 60);
          const loss = (e: number) =>
            Number(ex.exampleLines.find((l) => l.startsWith(`epoch ${e}:`))?.split('loss ')[1]);
          assert.ok(loss(20) < 0.6 * loss(1), `example loss ${loss(1)} -> ${loss(20)}`);
          assert.ok(
            ex.exampleLines.includes('evaluate() left the GHM-C state unchanged: true'),
            ex.exampleLines.join('\n'),
          );

          const shot = join(ROOT, 'dist', 'browser-test', 'playground.png');
          await mkdir(join(ROOT, 'dist', 'browser-test'), { recursive: true });
          await page.screenshot({ path: shot, fullPage: true });
          console.log(`screenshot: ${shot}`);
          assert.deepEqual(consoleErrors, [], 'console errors');
          await page.close();
        },
      );

      await t.test(
        'losses: the same values and gradients on cpu, wasm and webgl as on cpu in Node',
        async () => {
          const page = await browser.newPage();
          await page.goto(`${server.url}lossProbe.html`);
          await page.waitForFunction(() => 'lossProbe' in window, undefined, { timeout: 60_000 });
          const results = (await page.evaluate(
            () => (window as unknown as { lossProbe: unknown }).lossProbe,
          )) as Record<string, Record<string, number[]> | string>;
          const cpu = results['cpu'];
          assert.equal(typeof cpu, 'object', `cpu: ${String(cpu)}`);
          assert.equal(typeof results['wasm'], 'object', `wasm: ${String(results['wasm'])}`);
          const backends = Object.entries(results).filter(
            (e): e is [string, Record<string, number[]>] => typeof e[1] === 'object',
          );
          if (typeof results['webgl'] !== 'object')
            console.log(`webgl in this Chromium: ${String(results['webgl'])}`);
          for (const [name, r] of backends)
            compareProbe(r, cpu as Record<string, number[]>, `${name} vs cpu (Chromium)`);
          await setupBackend({ backend: 'cpu' });
          compareProbe(cpu as Record<string, number[]>, runLossProbe(), 'Chromium cpu vs Node cpu');
          await page.close();
        },
      );
    } finally {
      await browser.close();
      await server.close();
    }
  });
}

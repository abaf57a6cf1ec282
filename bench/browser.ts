/**
 * bench:browser: images/s of the playground's training step (the main job's net, B images of 64x64, the chosen
 * classification loss with GHM-R) in Chromium on each backend, beside Node's wasm on the same session in this
 * process, in one run. Node is timed before and after the browser runs, to show the machine's drift.
 *   npm run bench:browser -- [--steps 20] [--warmup 3] [--batch 8] [--loss GHM-C]
 * Chromium: GHMDET_CHROMIUM or /usr/bin/chromium, driven by playwright-core. The page trains in its Web Worker
 * with the figures off (`figures=0`); the step time is the worker's own measure of one step.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setupBackend } from '../src/engine/backend.js';
import { findChromium, launchChromium, missingBrowserNote } from '../test/browser/chromium.js';
import { TrainingSession, type ClsLossName, type MainJobConfig } from '../web/src/session.js';
import { median } from './synthetic.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    batch: { type: 'string', default: '8' },
    loss: { type: 'string', default: 'GHM-C' },
  },
});
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const batch = Number(values.batch);
const loss = values.loss as ClsLossName;
const ROOT = new URL('..', import.meta.url).pathname;
const config = JSON.parse(readFileSync(join(ROOT, 'configs/shapes_ghmc_ghmr.json'), 'utf8')) as MainJobConfig;

interface Row {
  where: string;
  backend: string;
  build: string;
  medianMs: number;
}

async function nodeWasm(): Promise<Row> {
  await setupBackend({ backend: 'wasm' });
  const session = new TrainingSession({ config, clsLoss: loss, batchSize: batch });
  try {
    for (let i = 0; i < warmup; i++) session.step();
    const ms = Array.from({ length: steps }, () => session.step().ms);
    return { where: 'Node', backend: 'wasm', build: 'simd, 1 thread', medianMs: median(ms) };
  } finally {
    session.dispose();
  }
}

const executable = findChromium();
if (executable === null) throw new Error(`bench:browser: ${missingBrowserNote()}`);
const { buildWeb } = (await import(join(ROOT, 'web/build.mjs'))) as { buildWeb: () => Promise<unknown> };
const { startServer } = (await import(join(ROOT, 'web/server.mjs'))) as {
  startServer: (o: object) => Promise<{ url: string; close: () => Promise<void> }>;
};
await buildWeb();

const rows: Row[] = [await nodeWasm()];
const server = await startServer({});
const browser = await launchChromium(executable);
const modes: { backend: string; threads?: number }[] = [
  { backend: 'wasm', threads: 0 },
  { backend: 'wasm' },
  { backend: 'wasm', threads: 2 },
  { backend: 'webgl' },
];
try {
  for (const mode of modes) {
    const page = await browser.newPage();
    const query = new URLSearchParams({
      backend: mode.backend,
      loss,
      batch: String(batch),
      iterations: String(warmup + steps),
      autostart: '1',
      figures: '0',
      ...(mode.threads !== undefined ? { threads: String(mode.threads) } : {}),
    });
    await page.goto(`${server.url}?${query}`);
    await page.waitForFunction(
      () => {
        const s = (window as unknown as { ghmdetPlayground: { done: boolean; errors: string[] } })
          .ghmdetPlayground;
        return s.done || s.errors.length > 0;
      },
      undefined,
      { timeout: 600_000, polling: 500 },
    );
    const s = (await page.evaluate(
      () => (window as unknown as { ghmdetPlayground: unknown }).ghmdetPlayground,
    )) as {
      stepMs: number[];
      errors: string[];
      backend: { name: string; reason: string };
    };
    await page.close();
    if (s.errors.length > 0) {
      console.log(`${mode.backend}: ${s.errors.join('; ')}`);
      continue;
    }
    const build = s.backend.reason.replace(/; chosen$/, '').replace(/^chosen$/, '');
    rows.push({
      where: 'Chromium (worker)',
      backend: s.backend.name,
      build: build === '' ? '-' : build,
      medianMs: median(s.stepMs.slice(warmup)),
    });
  }
} finally {
  await browser.close();
  await server.close();
}
rows.push({ ...(await nodeWasm()), where: 'Node (again)' });

const nodeIps = (batch * 1000) / rows[0]!.medianMs;
console.log(
  `\ntraining step, main job's net, ${loss} + GHM-R, batch ${batch} of 64x64, median of ${steps} steps after ${warmup}:\n`,
);
console.log('| where | backend | build | median step (ms) | images/s | vs Node wasm |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const ips = (batch * 1000) / r.medianMs;
  console.log(
    `| ${r.where} | ${r.backend} | ${r.build} | ${r.medianMs.toFixed(0)} | ${ips.toFixed(1)} | ${(ips / nodeIps).toFixed(2)} |`,
  );
}

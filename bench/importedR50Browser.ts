/**
 * The browser figure of bench:detector's imported R-50 RetinaNet: bench/r50Page.ts, bundled with esbuild into a
 * temporary folder with TF.js's wasm binaries, served with the model directory by a local node:http server, run
 * in the system Chromium (playwright-core, test/browser/chromium.ts): model load over http, `detect()` on one
 * 800x1333 image on single-threaded wasm, peak live tensor bytes and the wasm heap.
 */
import { createServer, type Server } from 'node:http';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { build } from 'esbuild';
import { findChromium, launchChromium, missingBrowserNote } from '../test/browser/chromium.js';
import { median } from './synthetic.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

/** Serves `site` at / and `modelDir` at /model/ on a free local port. */
async function serve(site: string, modelDir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [root, rest] = path.startsWith('/model/') ? [modelDir, path.slice(7)] : [site, path.slice(1)];
    const file = normalize(join(root, rest || 'index.html'));
    if (!file.startsWith(normalize(root) + sep)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) =>
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the bench server has no port');
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

/** Runs the page; logs the figures, or why they were not measured. */
export async function benchImportedR50Browser(
  modelDir: string,
  runs: number,
  log: (l: string) => void,
): Promise<void> {
  const executable = findChromium();
  if (executable === null) {
    log(`R-50 RetinaNet in Chromium: NOT RUN: ${missingBrowserNote()}`);
    return;
  }
  const site = await mkdtemp(join(tmpdir(), 'ghmdet-r50-page-'));
  let server: Server | null = null;
  try {
    await build({
      entryPoints: [new URL('./r50Page.ts', import.meta.url).pathname],
      outfile: join(site, 'page.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      logLevel: 'warning',
    });
    await writeFile(
      join(site, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>R-50 RetinaNet</title><script type="module" src="page.js"></script>\n',
    );
    const wasmDir = join(
      dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')),
      'dist',
    );
    await mkdir(join(site, 'wasm'));
    for (const f of await readdir(wasmDir))
      if (f.endsWith('.wasm')) await copyFile(join(wasmDir, f), join(site, 'wasm', f));
    const served = await serve(site, modelDir);
    server = served.server;
    const browser = await launchChromium(executable);
    try {
      const page = await browser.newPage();
      await page.goto(`${served.url}?runs=${runs}`);
      await page.waitForFunction(
        () => window.r50Result !== undefined || window.r50Error !== undefined,
        undefined,
        {
          timeout: 20 * 60_000,
          polling: 1000,
        },
      );
      const error = await page.evaluate(() => window.r50Error);
      if (error !== undefined) throw new Error(`the R-50 page failed: ${error}`);
      const r = (await page.evaluate(() => window.r50Result))!;
      const timed = r.detectSeconds.slice(1);
      log(
        `in Chromium (${r.backend}${r.simd ? ' with SIMD' : ' without SIMD'}, one thread): model loaded over http in ${r.loadSeconds.toFixed(1)} s; detect() ` +
          `warm-up ${r.detectSeconds[0]!.toFixed(2)} s, then median ${median(timed).toFixed(2)} s wall over ` +
          `${timed.length} runs (${r.detections} detections); peak live tensors ` +
          `${(r.peakBytes / 1024 ** 2).toFixed(0)} MiB, wasm heap ` +
          (r.wasmHeapBytes === null ? 'unknown' : `${(r.wasmHeapBytes / 1024 ** 3).toFixed(2)} GiB`),
      );
    } finally {
      await browser.close();
    }
  } finally {
    server?.close();
    await rm(site, { recursive: true, force: true });
  }
}

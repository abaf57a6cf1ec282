// Builds the playground into dist/web with esbuild: the page, the training worker and the example worker as
// browser ES modules, the HTML and CSS, and the TF.js wasm binaries from node_modules (served locally; the page
// points TF.js at them with setWasmPaths). ghmdet is bundled from source through the repository's tsconfig
// paths ('ghmdet/*' -> src/entry/*), so no prior `npm run build` is needed. The main job's config is inlined.
//   node web/build.mjs [--minify]
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WEB_OUT = join(ROOT, 'dist', 'web');

/** Builds dist/web; returns the output files with their sizes in bytes. */
export async function buildWeb({ minify = true } = {}) {
  const config = JSON.parse(await readFile(join(ROOT, 'configs', 'shapes_ghmc_ghmr.json'), 'utf8'));
  const result = await build({
    entryPoints: {
      page: join(ROOT, 'web/src/page.ts'),
      trainWorker: join(ROOT, 'web/src/trainWorker.ts'),
      exampleWorker: join(ROOT, 'web/src/exampleWorker.ts'),
      lossProbe: join(ROOT, 'web/src/lossProbePage.ts'),
    },
    outdir: WEB_OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    define: { MAIN_JOB_CONFIG: JSON.stringify({ model: config.model, data: config.data }) },
  });
  for (const f of ['index.html', 'page.css', 'lossProbe.html'])
    await copyFile(join(ROOT, 'web', f), join(WEB_OUT, f));
  const require = createRequire(import.meta.url);
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  await mkdir(join(WEB_OUT, 'wasm'), { recursive: true });
  for (const f of await readdir(join(wasmDir, 'dist')))
    if (f.endsWith('.wasm')) await copyFile(join(wasmDir, 'dist', f), join(WEB_OUT, 'wasm', f));
  return Object.entries(result.metafile.outputs)
    .filter(([f]) => f.endsWith('.js'))
    .map(([f, o]) => ({ file: f, bytes: o.bytes }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildWeb({ minify: !process.argv.includes('--no-minify') });
  for (const f of files) console.log(`${f.file}  ${(f.bytes / 1024).toFixed(0)} kB`);
}

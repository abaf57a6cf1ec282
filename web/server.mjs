// The playground's static server (node:http, no network access): dist/web at /, the run folders under /runs/
// (a run trained before its folder held model.json gets one made from its checkpoint on first request), and
// COOP/COEP headers so the page is cross-origin isolated (SharedArrayBuffer, threaded wasm).
//   node web/server.mjs [--port 8080] [--runs DIR]     (npm run web builds first, then serves)
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.map': 'application/json',
};

/** `path` inside `dir`, or null when it would leave it. */
function inside(dir, path) {
  const full = normalize(join(dir, decodeURIComponent(path)));
  return full === dir || full.startsWith(dir + sep) ? full : null;
}

/**
 * Model files of a run folder without them, made from its checkpoint with ghmdet's Node entry (dist/), kept
 * in memory: `{ 'model.json': Buffer, 'weights.bin': Buffer }`.
 */
const exported = new Map();
async function exportedRunModel(runDir) {
  if (!exported.has(runDir)) {
    exported.set(
      runDir,
      (async () => {
        const ghmdet = await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href);
        await ghmdet.setupBackend({ backend: 'cpu' });
        const files = {};
        await ghmdet.exportRunModel(runDir, {
          save: async (art) => {
            files['weights.bin'] = joinBuffers(art.weightData);
            files['model.json'] = Buffer.from(
              JSON.stringify({
                format: art.format,
                generatedBy: art.generatedBy,
                convertedBy: art.convertedBy ?? null,
                modelTopology: null,
                weightsManifest: [{ paths: ['./weights.bin'], weights: art.weightSpecs }],
                userDefinedMetadata: art.userDefinedMetadata,
              }),
            );
            return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
          },
        });
        return files;
      })(),
    );
  }
  return exported.get(runDir);
}

function joinBuffers(data) {
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

/**
 * Starts the server. `webDir`: what / serves (default dist/web); `runsDir`: what /runs/ serves (default runs/);
 * `mounts`: more folders by URL prefix (the tests serve fixtures). Resolves to `{ url, close() }`.
 */
export async function startServer({ port = 0, webDir, runsDir, mounts = {} } = {}) {
  const folders = {
    '/runs/': resolve(runsDir ?? join(ROOT, 'runs')),
    ...Object.fromEntries(Object.entries(mounts).map(([k, v]) => [k, resolve(v)])),
    '/': resolve(webDir ?? join(ROOT, 'dist', 'web')),
  };
  const server = createServer(async (req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    try {
      let path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path.endsWith('/')) path += 'index.html';
      const [prefix, dir] = Object.entries(folders).find(([p]) => path.startsWith(p));
      const rel = path.slice(prefix.length);
      const file = inside(dir, rel);
      if (file === null) throw Object.assign(new Error('outside'), { status: 403 });
      let body;
      try {
        if (!(await stat(file)).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
        body = await readFile(file);
      } catch (err) {
        // /runs/<run>/model.json or weights.bin of a run folder that has a checkpoint but no model files.
        const m = prefix === '/runs/' && /^([^/]+)\/(model\.json|weights\.bin)$/.exec(rel);
        if (err.code !== 'ENOENT' || !m) throw Object.assign(err, { status: 404 });
        const runDir = inside(dir, m[1]);
        try {
          await stat(join(runDir, 'checkpoint.json'));
        } catch {
          throw Object.assign(new Error('no such file'), { status: 404 });
        }
        body = (await exportedRunModel(runDir))[m[2]];
      }
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch (err) {
      res.writeHead(err.status ?? 500, { ...headers, 'Content-Type': 'text/plain' });
      res.end(err.status ? 'not found\n' : `error: ${err.message}\n`);
    }
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return { url, close: () => new Promise((ok) => server.close(ok)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const { url } = await startServer({ port: Number(arg('--port', 8080)), runsDir: arg('--runs') });
  console.log(`ghmdet playground: ${url} (Ctrl-C to stop)`);
}

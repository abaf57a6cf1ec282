import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs';
import { parseConfig } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { loadRetinaNet } from '../../src/detector/modelIO.js';
import { ALL_DETECTIONS } from '../../src/detector/retinaNet.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { buildModel } from '../../src/train/detectorRun.js';
import { detectorTrainable } from '../../src/train/detectorTrainable.js';
import { checkpointedTensors } from '../../src/train/trainer.js';
import { ensureDistBuilt, ROOT } from '../package/dist.js';
import { TINY_MODEL, tinyShapesData } from '../train/tinyDetector.js';

const { startServer } = (await import(join(ROOT, 'web/server.mjs'))) as {
  startServer: (o: { runsDir: string }) => Promise<{ url: string; close: () => Promise<void> }>;
};

test('the playground server: COOP/COEP headers, no path outside its folders, model files made for a run that has only a checkpoint', async () => {
  ensureDistBuilt(); // the server makes model files with ghmdet's Node entry (dist/)
  await setupBackend({ backend: 'cpu' });
  const runs = await mkdtemp(join(tmpdir(), 'ghmdet-runs-'));
  const server = await startServer({ runsDir: runs });
  const config = parseConfig({
    model: TINY_MODEL,
    data: tinyShapesData(join(runs, 'data'), 2),
    train: { max_iters: 1 },
  });
  const model = buildModel(config);
  try {
    // A run folder as an older ghmdet left it: config, categories and a checkpoint, no model.json.
    const runDir = join(runs, 'old');
    await mkdir(runDir);
    await writeFile(join(runDir, 'config.json'), JSON.stringify(config));
    const names = ['circle', 'square', 'triangle', 'cross'];
    await writeFile(
      join(runDir, 'categories.json'),
      JSON.stringify(names.map((name, k) => ({ id: k + 1, name }))),
    );
    await saveCheckpoint(runDir, {
      iteration: 1,
      epoch: 0,
      weights: checkpointedTensors(detectorTrainable(model)).map((v) => ({
        name: v.name,
        shape: [...v.variable.shape],
        values: v.variable.dataSync() as Float32Array,
      })),
      optimizer: [],
      modelState: model.getLossStates() as never,
      loaderState: null,
      randomState: null,
    });

    const res = await fetch(`${server.url}runs/old/model.json`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const loaded = await loadRetinaNet(`${server.url}runs/old/model.json`);
    assert.deepEqual(loaded.config.classNames, names);
    const pixels = { data: new Uint8Array(64 * 64 * 3).map((_, i) => (i * 29) % 256), width: 64, height: 64 };
    const want = (await model.detect(pixels, ALL_DETECTIONS)).map((d) => ({
      ...d,
      class: names[d.classIndex]!,
    }));
    assert.deepEqual(await loaded.detect(pixels, ALL_DETECTIONS), want);
    loaded.dispose();

    assert.equal((await fetch(`${server.url}runs/none/model.json`)).status, 404);
    assert.equal((await fetch(`${server.url}runs/..%2Fpackage.json`)).status, 403);
  } finally {
    model.dispose();
    await server.close();
    await rm(runs, { recursive: true, force: true });
  }
});

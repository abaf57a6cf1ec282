/**
 * Model directories (src/detector/modelDir.ts, modelIO.ts metadata): an imported model loads from disk and
 * through `tf.io.http` (what a page does) with the same detections, its categories come from the metadata, and
 * `saveRetinaNet` keeps metadata through a save/load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { loadModelDir, readModelDirInfo } from '../../src/detector/modelDir.js';
import { loadRetinaNet, saveRetinaNet } from '../../src/detector/modelIO.js';
import { nodeFileHandler } from '../../src/detector/nodeFileHandler.js';
import { ALL_DETECTIONS } from '../../src/detector/retinaNet.js';

const MMDET = join('test', 'fixtures', 'parity', 'mmdet_retinanet', 'model');

/** A fetch that serves the files of `dir` under http://models.test/ (a page's `tf.io.http` loads this way). */
function fetchFrom(dir: string): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const body = await readFile(join(dir, url.pathname.replace(/^\/model\//, '')));
    return new Response(body, { status: 200 });
  }) as typeof fetch;
}

test('an imported model directory: categories from its metadata; the same detections from disk and over http', async () => {
  await setupBackend({ backend: 'cpu' });
  const info = await readModelDirInfo(MMDET);
  assert.equal(info.source?.['framework'], 'mmdetection');
  assert.deepEqual(
    info.modelCategories.map((c) => [c.id, c.name]),
    [0, 1, 2, 3, 4].map((k) => [k + 1, `class${k}`]),
  );
  const { model } = await loadModelDir(MMDET);
  const overHttp = await loadRetinaNet(
    tf.io.http('http://models.test/model/model.json', { fetchFunc: fetchFrom(MMDET) }),
  );
  const image = { data: new Uint8Array(60 * 90 * 3).map((_, i) => (i * 7919) % 256), width: 90, height: 60 };
  const a = model.detectSync(image, ALL_DETECTIONS);
  assert.ok(a.length > 0);
  assert.deepEqual(overHttp.detectSync(image, ALL_DETECTIONS), a);
  model.dispose();
  overHttp.dispose();
  await assert.rejects(
    loadModelDir('test/fixtures/parity'),
    /is not a model directory: it has no model\.json/,
  );
});

test('saveRetinaNet keeps categories and source through a save and a load', async () => {
  await setupBackend({ backend: 'cpu' });
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-modeldir-'));
  try {
    const { model, categories } = await loadModelDir(MMDET);
    await saveRetinaNet(model, nodeFileHandler(dir), { categories, source: { framework: 'ghmdet' } });
    const again = await loadModelDir(dir);
    assert.deepEqual(again.categories, categories);
    assert.deepEqual(again.info.source, { framework: 'ghmdet' });
    assert.deepEqual(again.model.config, model.config);
    model.dispose();
    again.model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

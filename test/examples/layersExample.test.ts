import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureDistBuilt, ROOT } from '../package/dist.js';

test('examples/losses-in-a-layers-model.mjs runs as written in Node: the loss falls, evaluate() keeps the GHM state', async () => {
  ensureDistBuilt();
  const { stdout } = await promisify(execFile)(process.execPath, ['examples/losses-in-a-layers-model.mjs'], {
    cwd: ROOT,
  });
  const loss = (epoch: number) =>
    Number(new RegExp(`^epoch ${epoch}: loss ([0-9.]+)$`, 'm').exec(stdout)?.[1]);
  assert.ok(Number.isFinite(loss(1)) && Number.isFinite(loss(20)), stdout);
  assert.ok(loss(20) < 0.6 * loss(1), `loss ${loss(1)} -> ${loss(20)}`);
  assert.match(stdout, /^evaluate\(\) left the GHM-C state unchanged: true$/m);
  assert.match(stdout, /^GHM-C, last training batch: \d+ of 30 bins used/m);
});

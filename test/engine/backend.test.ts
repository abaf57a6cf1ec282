import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';

test('setupBackend: explicit cpu, then wasm, reports the choice', async () => {
  const lines: string[] = [];
  const cpu = await setupBackend({ backend: 'cpu', log: (l) => lines.push(l) });
  assert.equal(cpu.name, 'cpu');
  assert.equal(cpu.source, 'option');
  assert.equal(tf.getBackend(), 'cpu');
  const wasm = await setupBackend({ backend: 'wasm', log: (l) => lines.push(l) });
  assert.equal(wasm.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(lines[0]!, /^backend: cpu \(requested\)/);
  assert.match(lines[1]!, /^backend: wasm \(requested\)/);
});

test('setupBackend: unknown names are rejected with the list of known ones', async () => {
  await assert.rejects(
    setupBackend({ backend: 'gpu9' }),
    /unknown backend "gpu9"; expected one of tensorflow, wasm, cpu/,
  );
});

test('setupBackend: tensorflow without tfjs-node installed is a clear error', async () => {
  await assert.rejects(
    setupBackend({ backend: 'tensorflow' }),
    /@tensorflow\/tfjs-node could not be imported/,
  );
});

test('setupBackend: the environment variable is used when no option is given', async () => {
  const saved = process.env['GHMDET_BACKEND'];
  process.env['GHMDET_BACKEND'] = 'cpu';
  try {
    const info = await setupBackend();
    assert.equal(info.name, 'cpu');
    assert.equal(info.source, 'env');
  } finally {
    if (saved === undefined) delete process.env['GHMDET_BACKEND'];
    else process.env['GHMDET_BACKEND'] = saved;
  }
});

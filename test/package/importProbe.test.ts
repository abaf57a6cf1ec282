import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ensureDistBuilt } from './dist.js';

const PROBE = fileURLToPath(new URL('./importProbe.mjs', import.meta.url));

interface ProbeResult {
  backend: string;
  backends: string[];
  kernelCount: number;
  gradientCount: number;
  exports: number;
  lossValue: number;
  detections: number | null;
  changedByImport: string[];
  changedByUse: string[];
}

async function probe(setup: string, specifier: string): Promise<ProbeResult> {
  const { stdout } = await promisify(execFile)(process.execPath, [PROBE, setup, specifier]);
  return JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
}

const CASES: [string, string, string][] = [
  ['tfjs-cpu', 'cpu', 'ghmdet/losses'],
  ['tfjs-cpu', 'cpu', 'ghmdet/detector'],
  ['tfjs-cpu', 'cpu', 'ghmdet'],
  ['core-wasm', 'wasm', 'ghmdet/losses'],
  ['core-wasm', 'wasm', 'ghmdet/detector'],
  ['core-wasm', 'wasm', 'ghmdet'],
];

test('importing ghmdet (through its package exports, in a fresh process) changes no TF.js state', async () => {
  ensureDistBuilt();
  // Three processes at a time (each loads TF.js, a few seconds).
  const results: ProbeResult[] = [];
  for (let i = 0; i < CASES.length; i += 3)
    results.push(...(await Promise.all(CASES.slice(i, i + 3).map(([s, , spec]) => probe(s, spec)))));
  for (const [k, [setup, backend, specifier]] of CASES.entries()) {
    const r = results[k]!;
    const what = `${specifier} after ${setup}`;
    assert.equal(r.backend, backend, what);
    assert.ok(r.kernelCount > 100, `${what}: ${r.kernelCount} kernels recorded`);
    assert.ok(r.exports > 10, `${what}: ${r.exports} exports`);
    // The tfjs union registers op gradients; tfjs-core with the wasm backend alone registers none.
    if (setup === 'tfjs-cpu') assert.ok(r.gradientCount > 100, `${what}: ${r.gradientCount} gradients`);
    else assert.equal(r.gradientCount, 0, what);
    assert.deepEqual(r.changedByImport, [], `${what}: the import changed TF.js state`);
    assert.ok(Number.isFinite(r.lossValue) && r.lossValue > 0, `${what}: GHM-C gave ${r.lossValue}`);
    if (specifier !== 'ghmdet/losses') assert.equal(typeof r.detections, 'number', what);
    assert.deepEqual(r.changedByUse, [], `${what}: using a loss or detect() changed TF.js state`);
  }
});

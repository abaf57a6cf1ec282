import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { runLossProbe } from '../../web/src/lossProbe.js';
import { compareProbe } from './compareProbe.js';

// The same probe runs in Chromium on cpu, wasm and webgl (test/browser/playground.test.ts).
test('losses give the same values, gradients and GHM bins on cpu and wasm', async () => {
  await setupBackend({ backend: 'cpu' });
  const cpu = runLossProbe();
  await setupBackend({ backend: 'wasm' });
  const wasm = runLossProbe();
  assert.ok(cpu['ghmc.binCounts']!.reduce((a, b) => a + b, 0) > 200, 'the probe fills the bins');
  compareProbe(wasm, cpu, 'wasm vs cpu');
  const exact = Object.keys(cpu).filter((k) => cpu[k]!.every((v, i) => v === wasm[k]![i]));
  console.log(`bitwise equal on cpu and wasm: ${exact.join(', ')}`);
});

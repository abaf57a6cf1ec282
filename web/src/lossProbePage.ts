/**
 * lossProbe.html: runs {@link runLossProbe} on each backend the browser offers (wasm, webgl, cpu) and leaves
 * the results in `window.lossProbe` (`{ [backend]: ProbeResult | 'unavailable' }`) for the browser test.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { runLossProbe, type ProbeResult } from './lossProbe.js';

async function main(): Promise<void> {
  setWasmPaths(new URL('./wasm/', location.href).href);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const results: Record<string, ProbeResult | string> = {};
  for (const backend of ['cpu', 'wasm', 'webgl']) {
    try {
      if (!(await tf.setBackend(backend))) throw new Error('not initialised');
      await tf.ready();
      results[backend] = runLossProbe();
    } catch (err) {
      results[backend] = `unavailable: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  (window as unknown as { lossProbe: typeof results }).lossProbe = results;
  document.body.textContent = JSON.stringify(Object.keys(results));
}

void main();

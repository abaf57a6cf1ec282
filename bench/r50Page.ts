/**
 * The page of bench:detector's browser figure (bundled by bench/importedR50Browser.ts): loads the imported
 * R-50 RetinaNet over http with `loadRetinaNet(url)`, as a page deploying it would, and times `detect()` on one
 * 800x1333 image on the wasm backend (single-threaded: the bench serves no COOP/COEP headers). The figures go
 * to `window.r50Result`.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ALL_DETECTIONS, loadRetinaNet } from 'ghmdet/detector';

interface R50Result {
  backend: string;
  /** Whether TF.js found wasm SIMD (it then loads the SIMD build). */
  simd: boolean;
  loadSeconds: number;
  /** Wall-clock seconds of each detect() call, the first a warm-up. */
  detectSeconds: number[];
  detections: number;
  peakBytes: number;
  wasmHeapBytes: number | null;
}

declare global {
  interface Window {
    r50Result?: R50Result;
    r50Error?: string;
  }
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const runs = Number(params.get('runs') ?? '3');
  setWasmPaths(new URL('./wasm/', location.href).href);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  await tf.ready();
  const t0 = performance.now();
  const model = await loadRetinaNet(new URL('./model/model.json', location.href).href);
  const loadSeconds = (performance.now() - t0) / 1000;
  const [h, w] = [800, 1333];
  const data = new Uint8Array(h * w * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const image = { data, width: w, height: h };
  const detectSeconds: number[] = [];
  let detections = 0;
  for (let i = 0; i <= runs; i++) {
    const s = performance.now();
    detections = (await model.detect(image, ALL_DETECTIONS)).length;
    detectSeconds.push((performance.now() - s) / 1000);
  }
  const profile = await tf.profile(() => {
    model.detectSync(image, ALL_DETECTIONS);
  });
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.buffer
    .byteLength;
  model.dispose();
  window.r50Result = {
    backend: tf.getBackend(),
    simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true,
    loadSeconds,
    detectSeconds,
    detections,
    peakBytes: profile.peakBytes,
    wasmHeapBytes: heap ?? null,
  };
}

main().catch((e: unknown) => {
  window.r50Error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
});

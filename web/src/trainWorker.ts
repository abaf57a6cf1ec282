/**
 * The playground's training worker: sets up a backend (measuring which trains fastest when asked), then runs
 * a {@link TrainingSession} step after step and reports to the page: every step's losses, about once a second
 * the gradient statistics and detections on validation images. It yields to its event loop between steps so
 * that a stop message is handled at once.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from 'ghmdet/kernels';
import type { BackendReport, FromWorker, StartMessage, ToWorker, ValImage } from './messages.js';
import { TrainingSession } from './session.js';

const post = (m: FromWorker) => postMessage(m);
let stopRequested = false;
let running = false;

const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Sets up `name` (once per worker for wasm: threads are fixed when the wasm module starts). */
let wasmConfigured = false;
async function useBackend(name: string, wasmThreads: number): Promise<boolean> {
  // Before the wasm backend first starts (tf.findBackend would start it): where its binaries are, which build.
  if (name === 'wasm' && !wasmConfigured) {
    wasmConfigured = true;
    setWasmPaths(new URL('./wasm/', self.location.href).href);
    if (wasmThreads === 0 || !self.crossOriginIsolated) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    else if (wasmThreads > 0) {
      // The threaded build sizes its pthread pool from navigator.hardwareConcurrency / 2 (1 on two cores).
      Object.defineProperty(self.navigator, 'hardwareConcurrency', { get: () => 2 * wasmThreads });
      setThreadsCount(wasmThreads);
    }
  }
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
  } catch {
    return false;
  }
  registerTrainingKernels(name);
  return tf.getBackend() === name;
}

/** A training session of the main job's net with the page's choices. */
function newSession(start: StartMessage): TrainingSession {
  return new TrainingSession({
    config: MAIN_JOB_CONFIG,
    clsLoss: start.clsLoss,
    batchSize: start.batchSize,
    seed: start.seed,
  });
}

/** Training-step images/s of a fresh session on the current backend: one warm-up step, then `steps` timed. */
function measure(start: StartMessage, steps: number): number {
  const session = newSession(start);
  try {
    session.step();
    let ms = 0;
    for (let i = 0; i < steps; i++) ms += session.step().ms;
    return (steps * start.batchSize * 1000) / ms;
  } finally {
    session.dispose();
  }
}

/** The wasm build in use, in words: threaded (with its pool size) or single-threaded, and why. */
async function wasmBuild(): Promise<string> {
  if (tf.getBackend() !== 'wasm') return '';
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  if (threaded) return `threaded build, ${getThreadsCount()} thread${getThreadsCount() === 1 ? '' : 's'}; `;
  return self.crossOriginIsolated
    ? 'single-threaded build; '
    : 'single-threaded build (not cross-origin isolated); ';
}

async function chooseBackend(start: StartMessage): Promise<BackendReport> {
  const threads = () => (tf.getBackend() === 'wasm' ? getThreadsCount() : null);
  if (start.backend !== 'auto') {
    if (!(await useBackend(start.backend, start.wasmThreads)))
      throw new Error(`backend ${start.backend} could not be initialised in this browser`);
    const reason = `${await wasmBuild()}chosen`;
    return { type: 'backend', name: start.backend, threads: threads(), reason, measured: {} };
  }
  const measured: Record<string, number | string> = {};
  for (const name of ['wasm', 'webgl']) {
    if (!(await useBackend(name, start.wasmThreads))) {
      measured[name] = 'unavailable';
      continue;
    }
    measured[name] = measure(start, 3);
  }
  const ok = Object.entries(measured).filter((e): e is [string, number] => typeof e[1] === 'number');
  if (ok.length === 0) {
    await useBackend('cpu', 0);
    return { type: 'backend', name: 'cpu', threads: null, reason: 'wasm and webgl unavailable', measured };
  }
  const [name] = ok.reduce((a, b) => (b[1] > a[1] ? b : a));
  await useBackend(name, start.wasmThreads);
  return {
    type: 'backend',
    name,
    threads: threads(),
    reason: `${await wasmBuild()}fastest training step`,
    measured,
  };
}

async function run(start: StartMessage): Promise<void> {
  post(await chooseBackend(start));
  const session = newSession(start);
  try {
    const val = [0, 1, 2, 3].map((i) => session.validationImage(i));
    const valImages: ValImage[] = val.map((v) => ({
      width: v.rgb.width,
      height: v.rgb.height,
      rgb: v.rgb.data,
    }));
    let lastReport = 0;
    let lastFigures = -Infinity;
    let pending: ReturnType<TrainingSession['step']>[] = [];
    const recent: { images: number; ms: number }[] = [];
    let first = true;
    while (!stopRequested && (start.iterations === 0 || session.iteration < start.iterations)) {
      const s = session.step();
      pending.push(s);
      recent.push({ images: session.batchSize, ms: s.ms });
      if (recent.length > 20) recent.shift();
      const now = performance.now();
      const last = start.iterations > 0 && session.iteration >= start.iterations;
      if (now - lastReport >= 250 || last || first) {
        const figures = start.figures && (now - lastFigures >= 1000 || last || first);
        const ips = (recent.reduce((a, r) => a + r.images, 0) * 1000) / recent.reduce((a, r) => a + r.ms, 0);
        post({
          type: 'progress',
          steps: pending,
          imagesPerSecond: ips,
          ...(figures
            ? {
                stats: session.gradientStats(),
                ghmWeights: session.ghmWeights(),
                detections: session.detect(val),
              }
            : {}),
          ...(first ? { valImages } : {}),
        });
        pending = [];
        lastReport = performance.now();
        if (figures) lastFigures = lastReport;
        first = false;
      }
      await yieldToEvents();
    }
    post({ type: 'done', iteration: session.iteration });
  } finally {
    session.dispose();
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === 'stop') {
    stopRequested = true;
    return;
  }
  if (running) return;
  running = true;
  stopRequested = false;
  run(m)
    .catch((err: unknown) =>
      post({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
    )
    .finally(() => {
      running = false;
    });
};

/**
 * The playground page: starts the training worker and draws what it reports (the paper's figures with Vega,
 * detections on validation images, throughput and backend), runs the saved model on an image dropped on the
 * page, and runs the library example in a second worker.
 *
 * URL parameters (the browser tests and bench:browser use them): `loss`, `backend`, `batch`, `iterations`
 * (stop after N steps), `autostart=1`, `threads` (wasm: 0 = single-threaded build, N = N threads; default the
 * threaded build's own pool size), `figures=0` (no statistics or charts: for timing), `minScore`, `model` (URL of a
 * model.json; default the main job's run folder, `runs/default/model.json`).
 * Test hooks: `window.ghmdetPlayground` holds what the page has shown so far.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import {
  cumulativeContributionFigure,
  gradientDistributionFigure,
  lossCurvesFigure,
  loadRetinaNet,
  type Detection,
  type GradientStats,
  type RetinaNet,
} from 'ghmdet/detector';
import type { BackendChoice, FromWorker, Progress, StartMessage, ValImage } from './messages.js';
import type { ClsLossName, StepRecord } from './session.js';

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the page has shown, for the browser tests. */
const shown = {
  backend: null as null | { name: string; threads: number | null; reason: string; measured: object },
  iteration: 0,
  losses: [] as number[],
  /** Wall time of each training step, ms. */
  stepMs: [] as number[],
  imagesPerSecond: 0,
  /** Histograms of g received, as counts per fine bin. */
  histograms: [] as number[][],
  /** GHM-C weights over the bins received. */
  weights: [] as number[][],
  chartsRendered: 0,
  detectionsDrawn: 0,
  done: false,
  modelStatus: 'loading',
  dropped: null as null | Detection[],
  exampleLines: [] as string[],
  exampleDone: false,
  errors: [] as string[],
};
(window as unknown as { ghmdetPlayground: typeof shown }).ghmdetPlayground = shown;
window.addEventListener('error', (e) => shown.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => shown.errors.push(String(e.reason)));

/** Outer size of each chart (titles, axes and legend inside: the figure specs use Vega-Lite's autosize 'fit'). */
const CHART_SIZE = { width: 560, height: 270, autosize: { type: 'fit', contains: 'padding' } };
const CLASS_COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e'];

/** Renders a Vega-Lite spec into `id`, replacing the previous view. */
const views = new Map<string, vega.View>();
async function renderChart(id: string, spec: TopLevelSpec): Promise<void> {
  views.get(id)?.finalize();
  const sized = { ...spec, ...CHART_SIZE } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(sized).spec), { renderer: 'svg', container: `#${id}` });
  views.set(id, view);
  await view.runAsync();
  shown.chartsRendered++;
}

/** GHM-C's weight per bin: the batch's own density (momentum-free) and the training loss's EMA weights. */
function weightsSpec(stats: GradientStats, ema: number[] | null | undefined): TopLevelSpec {
  const r = stats.classification!.ghmc;
  const rows = r.weights.map((w, j) => ({
    g: (j + 0.5) / r.bins,
    weight: w,
    series: 'this batch (no momentum)',
  }));
  if (ema)
    rows.push(
      ...ema.map((w, j) => ({ g: (j + 0.5) / ema.length, weight: w, series: 'training loss (EMA)' })),
    );
  return {
    title: { text: 'GHM-C weights over the bins', subtitle: 'beta_j = N / (R_j n); 0 for an empty bin' },
    data: { values: rows.filter((row) => row.weight > 0) },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'g',
        type: 'quantitative',
        title: 'gradient norm g (bin centre)',
        scale: { domain: [0, 1] },
      },
      y: { field: 'weight', type: 'quantitative', title: 'weight', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } },
    },
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', title: { anchor: 'start' } },
  } as TopLevelSpec;
}

const steps: StepRecord[] = [];

function lossSpec(): TopLevelSpec {
  // At most ~200 points: means over consecutive steps.
  const every = Math.max(1, Math.ceil(steps.length / 200));
  const train = [];
  for (let i = 0; i < steps.length; i += every) {
    const chunk = steps.slice(i, i + every);
    const mean = (f: (s: StepRecord) => number) => chunk.reduce((a, s) => a + f(s), 0) / chunk.length;
    train.push({
      iter: chunk[chunk.length - 1]!.iter,
      lr: null,
      imagesPerSecond: null,
      time: null,
      losses: {
        loss: mean((s) => s.loss),
        loss_cls: mean((s) => s.lossCls),
        loss_bbox: mean((s) => s.lossBbox),
      },
    });
  }
  return lossCurvesFigure({ train, val: [] }).spec;
}

/** Draws RGB bytes into a canvas (scaled by CSS) with boxes [x, y, w, h] and labels. */
function drawImage(
  canvas: HTMLCanvasElement,
  image: ValImage | CanvasImageSource,
  boxes: { bbox: number[]; label: string; classIndex: number }[],
  scale: number,
): void {
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  if ('rgb' in image) {
    const tmp = new OffscreenCanvas(image.width, image.height);
    const data = new ImageData(image.width, image.height);
    for (let p = 0; p < image.width * image.height; p++) {
      data.data.set(image.rgb.subarray(3 * p, 3 * p + 3), 4 * p);
      data.data[4 * p + 3] = 255;
    }
    tmp.getContext('2d')!.putImageData(data, 0, 0);
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  } else {
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  }
  ctx.lineWidth = 2;
  ctx.font = '12px DejaVu Sans, sans-serif';
  for (const b of boxes) {
    const [x, y, w, h] = b.bbox.map((v) => v * scale) as [number, number, number, number];
    const colour = CLASS_COLOURS[b.classIndex % CLASS_COLOURS.length]!;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x, y, w, h);
    const tw = ctx.measureText(b.label).width + 6;
    ctx.fillStyle = colour;
    ctx.fillRect(x, Math.max(0, y - 15), tw, 15);
    ctx.fillStyle = '#fff';
    ctx.fillText(b.label, x + 3, Math.max(11, y - 3));
  }
}

const label = (d: Detection) => `${d.class} ${d.score.toFixed(2)}`;
const minScore = () => Number($<HTMLInputElement>('minScore').value);

let valImages: ValImage[] = [];
let lastDetections: Detection[][] = [];

function drawValidation(): void {
  const box = $('val');
  if (box.children.length !== valImages.length) {
    box.replaceChildren(
      ...valImages.map(() => Object.assign(document.createElement('canvas'), { width: 192, height: 192 })),
    );
  }
  valImages.forEach((im, i) => {
    const dets = (lastDetections[i] ?? []).filter((d) => d.score >= minScore());
    shown.detectionsDrawn += dets.length;
    drawImage(
      box.children[i] as HTMLCanvasElement,
      im,
      dets.map((d) => ({ bbox: d.bbox, label: label(d), classIndex: d.classIndex })),
      192 / im.width,
    );
  });
}

function facts(): void {
  const b = shown.backend;
  const measured = b
    ? Object.entries(b.measured)
        .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(1) + ' img/s' : v}`)
        .join(', ')
    : '';
  const last = steps[steps.length - 1];
  $('facts').replaceChildren(
    ...[
      b ? `backend <b>${b.name}</b> (${b.reason}${measured ? `: ${measured}` : ''})` : '',
      shown.imagesPerSecond > 0 ? `<b>${shown.imagesPerSecond.toFixed(1)}</b> images/s (training step)` : '',
      last ? `iteration <b>${last.iter}</b>, loss ${last.loss.toFixed(3)}` : '',
      `cross-origin isolated: ${self.crossOriginIsolated ? 'yes' : 'no'}`,
    ]
      .filter((html) => html !== '')
      .map((html) => Object.assign(document.createElement('span'), { innerHTML: html })),
  );
}

let figuresBusy = false;
async function onProgress(p: Progress): Promise<void> {
  steps.push(...p.steps);
  shown.iteration = steps[steps.length - 1]?.iter ?? 0;
  shown.losses.push(...p.steps.map((s) => s.loss));
  shown.stepMs.push(...p.steps.map((s) => s.ms));
  shown.imagesPerSecond = p.imagesPerSecond;
  if (p.valImages) valImages = p.valImages;
  if (p.detections) {
    lastDetections = p.detections;
    drawValidation();
  }
  facts();
  if (p.stats === undefined || figuresBusy) return;
  // Drawing takes a few tens of ms; a report that arrives meanwhile updates the numbers only.
  figuresBusy = true;
  try {
    shown.histograms.push(p.stats.classification!.fine.counts);
    shown.weights.push(p.ghmWeights ?? p.stats.classification!.ghmc.weights);
    await renderChart('chart-hist', gradientDistributionFigure(p.stats).spec);
    await renderChart('chart-weights', weightsSpec(p.stats, p.ghmWeights));
    await renderChart('chart-contribution', cumulativeContributionFigure(p.stats).spec);
    await renderChart('chart-loss', lossSpec());
  } finally {
    figuresBusy = false;
  }
}

let worker: Worker | null = null;

function start(): void {
  worker?.terminate();
  steps.length = 0;
  shown.done = false;
  worker = new Worker('./trainWorker.js', { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    if (m.type === 'backend') {
      shown.backend = m;
      $('status').textContent = 'training';
      facts();
    } else if (m.type === 'progress') {
      onProgress(m).catch((err: unknown) => shown.errors.push(String(err)));
    } else if (m.type === 'done') {
      shown.done = true;
      $('status').textContent = `stopped after ${m.iteration} iterations`;
      $<HTMLButtonElement>('start').disabled = false;
      $<HTMLButtonElement>('stop').disabled = true;
    } else {
      shown.errors.push(m.message);
      $('status').textContent = `error: ${m.message}`;
    }
  };
  worker.onerror = (e) => shown.errors.push(`training worker: ${e.message}`);
  const message: StartMessage = {
    type: 'start',
    clsLoss: $<HTMLSelectElement>('loss').value as ClsLossName,
    backend: $<HTMLSelectElement>('backend').value as BackendChoice,
    wasmThreads: params.has('threads') ? Number(params.get('threads')) : -1,
    batchSize: Number($<HTMLInputElement>('batch').value),
    figures: params.get('figures') !== '0',
    iterations: Number(params.get('iterations') ?? 0),
    seed: 0,
  };
  $('status').textContent = message.backend === 'auto' ? 'measuring the backends...' : 'starting...';
  $<HTMLButtonElement>('start').disabled = true;
  $<HTMLButtonElement>('stop').disabled = false;
  worker.postMessage(message);
}

// The saved model runs on this thread, on the wasm backend (single-threaded; inference only).
let savedModel: RetinaNet | null = null;
async function loadSavedModel(): Promise<void> {
  const url = params.get('model') ?? 'runs/default/model.json';
  try {
    setWasmPaths(new URL('./wasm/', location.href).href);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) await tf.setBackend('cpu');
    await tf.ready();
    savedModel = await loadRetinaNet(new URL(url, location.href).href);
    const names = savedModel.config.classNames?.join(', ') ?? `${savedModel.config.numClasses} classes`;
    shown.modelStatus = 'loaded';
    $('modelStatus').textContent =
      `${url}: ${savedModel.numParameters().toLocaleString('en-US')} parameters (${names}); drop an image on the box.`;
  } catch (err) {
    shown.modelStatus = 'missing';
    $('modelStatus').textContent =
      `No saved model at ${url} (${err instanceof Error ? err.message : String(err)}). ` +
      'Train one with npm start: the run folder runs/default holds model.json.';
  }
}

async function onDrop(file: File): Promise<void> {
  if (savedModel === null) throw new Error('no saved model is loaded');
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, 320 / Math.max(bitmap.width, bitmap.height));
  const canvas = Object.assign(document.createElement('canvas'), {
    width: Math.round(bitmap.width * scale),
    height: Math.round(bitmap.height * scale),
  });
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  // coco-ssd's call: an element, at most 20 boxes, scores from the box above.
  const dets = await savedModel.detect(canvas, 20, minScore());
  shown.dropped = dets;
  const shownCanvas = Object.assign(document.createElement('canvas'), {
    width: canvas.width,
    height: canvas.height,
  });
  drawImage(
    shownCanvas,
    canvas,
    dets.map((d) => ({ bbox: d.bbox, label: label(d), classIndex: d.classIndex })),
    1,
  );
  $('drop').replaceChildren(shownCanvas);
}

function runExample(): void {
  const out = $('exampleOut');
  out.textContent = '';
  shown.exampleLines = [];
  shown.exampleDone = false;
  const w = new Worker('./exampleWorker.js', { type: 'module' });
  w.onmessage = (e: MessageEvent<{ type: string; text?: string; message?: string }>) => {
    if (e.data.type === 'line') {
      shown.exampleLines.push(e.data.text!);
      out.textContent += e.data.text + '\n';
    } else if (e.data.type === 'done') {
      shown.exampleDone = true;
      w.terminate();
    } else shown.errors.push(`example: ${e.data.message}`);
  };
  w.onerror = (e) => shown.errors.push(`example worker: ${e.message}`);
}

function init(): void {
  for (const [param, id] of [
    ['loss', 'loss'],
    ['backend', 'backend'],
    ['batch', 'batch'],
    ['minScore', 'minScore'],
  ] as const) {
    const v = params.get(param);
    if (v !== null) $<HTMLInputElement>(id).value = v;
  }
  $('start').onclick = start;
  $('stop').onclick = () => worker?.postMessage({ type: 'stop' });
  $('runExample').onclick = runExample;
  $('minScore').oninput = drawValidation;
  const drop = $('drop');
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) onDrop(file).catch((err: unknown) => shown.errors.push(String(err)));
  };
  facts();
  void loadSavedModel();
  if (params.get('autostart') === '1') start();
}

init();

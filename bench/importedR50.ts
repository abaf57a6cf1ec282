/**
 * A COCO-sized model in TF.js, measured (part of `npm run bench:detector`): an imported R-50 RetinaNet
 * (torchvision's retinanet_resnet50_fpn built with weights=None, i.e. random weights, converted by
 * tools/torch_to_ghmdet.py) running `detect()` on one 800x1333 image:
 *  - latency: median of the timed runs after one warm-up (resize and normalise, the network, post-processing),
 *    wall clock and the process's CPU time (user + system) over the same runs: the wasm backend computes on one
 *    thread, so on a busy machine the CPU time is the better estimate of the latency on an idle one;
 *  - memory: TF.js's peak of live tensor bytes during one `detect()` (`tf.profile`), the wasm heap (it grows and
 *    never shrinks, so its size is its peak; wasm32 addresses at most 4 GiB), and the process's peak RSS.
 * The model directory is made once under .cache/bench/ when a Python with torch is found (GHMDET_PYTHON,
 * python3, /usr/bin/python3), or given with --r50 DIR; without either the section says it did not run.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelDir } from '../src/detector/modelDir.js';
import { ALL_DETECTIONS } from '../src/detector/retinaNet.js';
import { importTorchCheckpoint } from '../src/interop/torchImport.js';
import { median } from './synthetic.js';

const CACHE = join('.cache', 'bench');
const WASM_ADDRESS_SPACE = 4 * 1024 ** 3;

function pythonWithTorch(): string | null {
  const env = process.env['GHMDET_PYTHON'];
  for (const python of env !== undefined ? [env] : ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    if (r.error === undefined && r.status === 0) return python;
  }
  return null;
}

/** The imported R-50 model directory: `dir`, or one made (once) under .cache/bench/; null when none can be. */
export async function r50ModelDir(dir: string | undefined, log: (l: string) => void): Promise<string | null> {
  if (dir !== undefined) return dir;
  const out = join(CACHE, 'retinanet_resnet50_fpn_random');
  try {
    await stat(join(out, 'model.json'));
    return out;
  } catch {
    // made below
  }
  const python = pythonWithTorch();
  if (python === null) return null;
  await mkdir(CACHE, { recursive: true });
  const ckpt = join(CACHE, 'retinanet_resnet50_fpn_random.pth');
  log(`exporting torchvision's retinanet_resnet50_fpn (weights=None, seed 0) to ${ckpt}`);
  const r = spawnSync(
    python,
    [
      '-c',
      'import sys, torch; from torchvision.models.detection import retinanet_resnet50_fpn; ' +
        'torch.manual_seed(0); ' +
        'torch.save(retinanet_resnet50_fpn(weights=None, weights_backbone=None).state_dict(), sys.argv[1])',
      ckpt,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`exporting the R-50 RetinaNet failed: ${r.stderr}`);
  // weights=None builds nn.BatchNorm2d (eps 1e-5), not the COCO weights' FrozenBatchNorm2d with eps 0.
  const report = await importTorchCheckpoint(ckpt, {
    arch: 'torchvision_retinanet_v1',
    out,
    bnEps: 1e-5,
    python,
    force: true,
  });
  log(`imported: ${report.tensors} tensors, ${report.values.toLocaleString('en-US')} values into ${out}`);
  return out;
}

function wasmHeapBytes(): number | null {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

const gib = (b: number): string => `${(b / 1024 ** 3).toFixed(2)} GiB`;
const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(0)} MiB`;

/** Loads the imported model, times `detect()` on an 800x1333 image and reports memory. */
export async function benchImportedR50(dir: string, runs: number, log: (l: string) => void): Promise<void> {
  const t0 = performance.now();
  const { model, info } = await loadModelDir(dir);
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    let values = 0;
    for (const v of model.namedVariables().values()) values += v.size;
    log(
      `imported R-50 RetinaNet ${dir} (${String(info.source?.['arch'] ?? 'ghmdet')}): ` +
        `${values.toLocaleString('en-US')} values (${model.numParameters().toLocaleString('en-US')} trainable), ` +
        `loaded in ${loadSeconds.toFixed(1)} s`,
    );
    const [h, w] = [800, 1333];
    const pixels = new Uint8Array(h * w * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 2654435761) >>> 24;
    const image = { data: pixels, width: w, height: h };
    const times: number[] = [];
    const cpuTimes: number[] = [];
    let count = 0;
    for (let i = 0; i <= runs; i++) {
      const s = performance.now();
      const cpu = process.cpuUsage();
      count = model.detectSync(image, ALL_DETECTIONS).length;
      const ms = performance.now() - s;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      if (i > 0) {
        times.push(ms);
        cpuTimes.push(cpuMs);
      }
      log(
        `  detect() run ${i}${i === 0 ? ' (warm-up)' : ''}: ${(ms / 1000).toFixed(2)} s wall, ` +
          `${(cpuMs / 1000).toFixed(2)} s CPU`,
      );
    }
    const profile = await tf.profile(() => {
      model.detectSync(image, ALL_DETECTIONS);
    });
    log(
      `detect() on one ${h}x${w} image (input ${h}x1344 after padding), backend ${tf.getBackend()}: ` +
        `median ${(median(times) / 1000).toFixed(2)} s wall, ${(median(cpuTimes) / 1000).toFixed(2)} s CPU over ` +
        `${runs} runs (${count} detections: random weights); load average ${loadAverage()}`,
    );
    const heap = wasmHeapBytes();
    const rss = process.resourceUsage().maxRSS * 1024;
    log(
      `memory: peak live tensors ${mib(profile.peakBytes)} during detect(); ` +
        (heap !== null
          ? `wasm heap ${gib(heap)} of the ${gib(WASM_ADDRESS_SPACE)} a wasm32 module can address ` +
            `(${((100 * heap) / WASM_ADDRESS_SPACE).toFixed(0)} %); `
          : '') +
        `process peak RSS ${gib(rss)}`,
    );
  } finally {
    model.dispose();
  }
}

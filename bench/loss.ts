/**
 * Times forward + backward (`tf.valueAndGrad` w.r.t. the predictions, gradient read back) of the classification
 * losses on RetinaNet-sized logits (120000 anchors x 80 classes: ~1 % positive anchors, ~5 % ignored) and of the
 * regression losses on 120000 x 4 deltas (1 % positive anchors), on the default backend (`setupBackend()`), in one
 * process; the median of several runs each. All losses run with `validate: false` (the training setting);
 * the GHM-C row with validation on is printed for reference. The reference PyTorch GHM-C (per-bin Python loop)
 * is reported at ~2.7 s per iteration.
 *
 *   npm run bench:loss                      table
 *   npm run bench:loss -- --runs 7 --json   last line {"ghmc_ms", "focal_ms", "bce_ms", "ghmr_ms", "smoothl1_ms", "backend"}
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../src/engine/backend.js';
import { parseArgs, intFlag, stringFlag, type FlagSpec } from './args.js';
import { Random } from '../src/utils/random.js';
import { GHMC } from '../src/losses/ghmC.js';
import { GHMR } from '../src/losses/ghmR.js';
import { sigmoidFocalLoss } from '../src/losses/focal.js';
import { bceWithLogitsLoss } from '../src/losses/bce.js';
import { smoothL1Loss } from '../src/losses/smoothL1.js';

const spec: Record<string, FlagSpec> = {
  runs: {
    type: 'string',
    description: 'timed runs per loss, after one warm-up; the median is reported (default 5)',
  },
  anchors: { type: 'string', description: 'number of anchors N (default 120000)' },
  classes: { type: 'string', description: 'number of classes C (default 80)' },
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  json: { type: 'boolean', description: 'print a last line of JSON' },
};

type Step = (pred: tf.Tensor) => tf.Scalar;

/** Median milliseconds of `runs` forward+backward passes (after one warm-up), gradient read back each time. */
function time(step: Step, pred: tf.Tensor, runs: number): number {
  const once = (): number => {
    const t0 = performance.now();
    const { value, grad } = tf.valueAndGrad(step)(pred);
    value.dataSync();
    grad.dataSync();
    tf.dispose([value, grad]);
    return performance.now() - t0;
  };
  once();
  const ms = Array.from({ length: runs }, once).sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

async function main(): Promise<void> {
  const args = parseArgs('bench:loss', process.argv.slice(2), spec);
  const runs = intFlag('bench:loss', args, 'runs', 5, 1);
  const n = intFlag('bench:loss', args, 'anchors', 120000, 1);
  const c = intFlag('bench:loss', args, 'classes', 80, 1);
  const info = await setupBackend({ backend: stringFlag(args, 'backend') });
  const rng = new Random(2019);

  // Classification: logits mostly very negative (a trained detector), ~1 % positive anchors, ~5 % ignored.
  const logits = new Float32Array(n * c);
  const onehot = new Float32Array(n * c);
  const clsWeight = new Float32Array(n * c).fill(1);
  const deltas = new Float32Array(n * 4);
  const boxTargets = new Float32Array(n * 4);
  const boxWeight = new Float32Array(n * 4);
  let numPos = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) logits[i * c + k] = rng.normal() * 2 - 6;
    const u = rng.next();
    if (u < 0.01) {
      onehot[i * c + rng.int(0, c - 1)] = 1;
      numPos++;
      for (let k = 0; k < 4; k++) {
        boxTargets[i * 4 + k] = rng.normal() * 0.5;
        boxWeight[i * 4 + k] = 1;
      }
    } else if (u < 0.06) {
      clsWeight.fill(0, i * c, (i + 1) * c);
    }
    for (let k = 0; k < 4; k++) deltas[i * 4 + k] = rng.normal() * 0.5;
  }
  const pred = tf.tensor2d(logits, [n, c]);
  const target = tf.tensor2d(onehot, [n, c]);
  const weight = tf.tensor2d(clsWeight, [n, c]);
  const boxPred = tf.tensor2d(deltas, [n, 4]);
  const boxTarget = tf.tensor2d(boxTargets, [n, 4]);
  const boxW = tf.tensor2d(boxWeight, [n, 4]);
  const avgFactor = Math.max(1, numPos);

  const ghmc = new GHMC({ validate: false });
  const ghmcChecked = new GHMC({ validate: true });
  const ghmr = new GHMR({ validate: false });
  const rows: [string, string, number][] = [];
  const clsShape = `${n} x ${c}`;
  const boxShape = `${n} x 4`;
  const ghmcMs = time((p) => ghmc.call(p, target, weight) as tf.Scalar, pred, runs);
  rows.push(['GHM-C', clsShape, ghmcMs]);
  const focalMs = time(
    (p) => sigmoidFocalLoss(p, target, weight, { avgFactor, validate: false }) as tf.Scalar,
    pred,
    runs,
  );
  rows.push(['focal loss', clsShape, focalMs]);
  const bceMs = time(
    (p) => bceWithLogitsLoss(p, target, weight, { avgFactor, validate: false }) as tf.Scalar,
    pred,
    runs,
  );
  rows.push(['BCE with logits', clsShape, bceMs]);
  rows.push([
    'GHM-C, validate: true',
    clsShape,
    time((p) => ghmcChecked.call(p, target, weight) as tf.Scalar, pred, runs),
  ]);
  const ghmrMs = time((p) => ghmr.call(p, boxTarget, boxW) as tf.Scalar, boxPred, runs);
  rows.push(['GHM-R', boxShape, ghmrMs]);
  const sl1Ms = time(
    (p) => smoothL1Loss(p, boxTarget, boxW, { avgFactor, validate: false }) as tf.Scalar,
    boxPred,
    runs,
  );
  rows.push(['smooth L1', boxShape, sl1Ms]);
  tf.dispose([pred, target, weight, boxPred, boxTarget, boxW]);

  console.log(`backend: ${info.name}; forward + backward, median of ${runs} runs (ms)`);
  console.log(`${'loss'.padEnd(24)}${'shape'.padEnd(16)}${'ms'.padStart(10)}`);
  for (const [name, shape, ms] of rows)
    console.log(`${name.padEnd(24)}${shape.padEnd(16)}${ms.toFixed(1).padStart(10)}`);
  console.log(
    `GHM-C / focal: ${(ghmcMs / focalMs).toFixed(2)}x; GHM-C / BCE: ${(ghmcMs / bceMs).toFixed(2)}x`,
  );
  if (args.flags['json']) {
    const r = (v: number) => Math.round(v * 10) / 10;
    console.log(
      JSON.stringify({
        ghmc_ms: r(ghmcMs),
        focal_ms: r(focalMs),
        bce_ms: r(bceMs),
        ghmr_ms: r(ghmrMs),
        smoothl1_ms: r(sl1Ms),
        backend: info.name,
      }),
    );
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});

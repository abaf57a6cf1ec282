/**
 * Convolution throughput: forward, and forward + both gradients (dX, dW), side by side.
 *
 *   npm run bench:conv [-- --backend wasm|cpu] [--repeats 5] [--json]
 *
 * GFLOP/s counts a forward conv as 2*N*h*w*kh*kw*Cin*Cout FLOPs and forward + backward as 3 times that.
 * Forward and forward + backward runs alternate, and each figure is the median over `repeats` runs.
 * With --json, the last line is an array of `{ shape, fwd_gflops, fwdbwd_gflops }`. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { intFlag, parseArgs, stringFlag } from './args.js';
import { setupBackend } from '../src/engine/backend.js';
import { median } from './synthetic.js';

interface ConvShape {
  /** Input [N, H, W, Cin]. */
  x: [number, number, number, number];
  /** Filter [kh, kw, Cin, Cout]. */
  w: [number, number, number, number];
  stride: number;
}

const SHAPES: ConvShape[] = [
  { x: [8, 64, 64, 32], w: [3, 3, 32, 32], stride: 1 },
  { x: [8, 32, 32, 64], w: [3, 3, 64, 64], stride: 1 },
  { x: [8, 64, 64, 32], w: [3, 3, 32, 64], stride: 2 },
  { x: [8, 32, 32, 128], w: [1, 1, 128, 64], stride: 1 },
];

/** Wall time in ms of `fn` (which returns tensors to read back and dispose), read-back included. */
function timeOnce(fn: () => tf.Tensor[]): number {
  const t0 = performance.now();
  const out = fn();
  for (const t of out) t.dataSync();
  const ms = performance.now() - t0;
  tf.dispose(out);
  return ms;
}

/**
 * Median wall times in ms of each of `fns` over `repeats` rounds; every round runs each function once, in
 * turn, so a load swing on a shared machine hits all of them alike.
 */
function timeAlternating(fns: (() => tf.Tensor[])[], repeats: number): number[] {
  const runs: number[][] = fns.map(() => []);
  for (let i = 0; i <= repeats; i++) {
    fns.forEach((fn, k) => {
      const ms = timeOnce(fn);
      if (i > 0) runs[k]!.push(ms); // the first round warms up (kernel setup, heap growth)
    });
  }
  return runs.map(median);
}

async function main(): Promise<void> {
  const args = parseArgs('bench:conv', process.argv.slice(2), {
    backend: { type: 'string', description: 'backend (default wasm)' },
    repeats: { type: 'string', description: 'timed runs per figure (default 5)' },
    json: { type: 'boolean', description: 'print a JSON line last' },
  });
  const info = await setupBackend({ backend: stringFlag(args, 'backend') ?? 'wasm' });
  const repeats = intFlag('bench:conv', args, 'repeats', 5, 1);
  console.log(`backend ${info.name}; project kernels: ${info.kernels.join(', ') || 'none'}`);
  const rows: { shape: string; fwd_gflops: number; fwdbwd_gflops: number }[] = [];
  for (const s of SHAPES) {
    const x = tf.randomUniform(s.x, -1, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomUniform(s.w, -1, 1, 'float32', 2) as tf.Tensor4D;
    const y0 = tf.conv2d(x, w, s.stride, 'same');
    const dy = tf.randomUniform(y0.shape, -1, 1, 'float32', 3) as tf.Tensor4D;
    const [, h, wd] = y0.shape;
    y0.dispose();
    const flops = 2 * s.x[0] * h * wd * s.w[0] * s.w[1] * s.w[2] * s.w[3];
    const [fwdMs, bwdMs] = timeAlternating(
      [
        () => [tf.conv2d(x, w, s.stride, 'same')],
        () =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s.stride, 'same'),
          )([x, w], dy),
      ],
      repeats,
    ) as [number, number];
    const shape = `[${s.x}]x[${s.w}] s${s.stride}`;
    const row = { shape, fwd_gflops: flops / fwdMs / 1e6, fwdbwd_gflops: (3 * flops) / bwdMs / 1e6 };
    rows.push(row);
    console.log(
      `${shape.padEnd(34)} fwd ${fwdMs.toFixed(1).padStart(7)} ms ${row.fwd_gflops.toFixed(1).padStart(6)} GFLOP/s | ` +
        `fwd+bwd ${bwdMs.toFixed(1).padStart(7)} ms ${row.fwdbwd_gflops.toFixed(1).padStart(6)} GFLOP/s | ` +
        `ratio ${(row.fwdbwd_gflops / row.fwd_gflops).toFixed(2)}`,
    );
    tf.dispose([x, w, dy]);
  }
  if (args.flags['json'] === true) console.log(JSON.stringify(rows));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

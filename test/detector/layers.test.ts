import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { Conv2d } from '../../src/detector/layers.js';
import { ParamStore } from '../../src/detector/params.js';

/** Direct NHWC convolution with floor(k / 2) zeros on every side (PyTorch's `padding=k // 2`). */
function referenceConv(
  x: Float32Array,
  [n, h, w, cin]: number[],
  kernel: Float32Array,
  k: number,
  cout: number,
  stride: number,
): { values: number[]; shape: number[] } {
  const p = Math.floor(k / 2);
  const oh = Math.floor((h + 2 * p - k) / stride) + 1;
  const ow = Math.floor((w + 2 * p - k) / stride) + 1;
  const values: number[] = [];
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++)
        for (let o = 0; o < cout; o++) {
          let s = 0;
          for (let i = 0; i < k; i++)
            for (let j = 0; j < k; j++) {
              const r = y * stride + i - p;
              const c = xo * stride + j - p;
              if (r < 0 || r >= h || c < 0 || c >= w) continue;
              for (let ci = 0; ci < cin; ci++)
                s += x[((b * h + r) * w + c) * cin + ci]! * kernel[((i * k + j) * cin + ci) * cout + o]!;
            }
          values.push(s);
        }
  return { values, shape: [n, oh, ow, cout] };
}

for (const backend of ['cpu', 'wasm']) {
  test(`Conv2d pads floor(k/2) on every side, as PyTorch: stride-2 cell i is centred on input 2i (${backend})`, async () => {
    await setupBackend({ backend });
    for (const [k, size] of [
      [3, 8],
      [3, 7],
      [7, 10],
      [1, 6],
    ] as const) {
      const params = new ParamStore(3);
      const conv = new Conv2d(params, 'c', 2, 3, k, 2, { kind: 'normal', std: 1 }, false);
      const shape: [number, number, number, number] = [2, size, size, 2];
      const x = tf.randomNormal(shape, 0, 1, 'float32', 4) as tf.Tensor4D;
      const y = conv.apply(x);
      const want = referenceConv(
        x.dataSync() as Float32Array,
        shape,
        conv.kernel.dataSync() as Float32Array,
        k,
        3,
        2,
      );
      assert.deepEqual(y.shape, want.shape, `k ${k}, size ${size}`);
      const got = y.dataSync();
      want.values.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-4, `k ${k}, size ${size}, [${i}]`));
      tf.dispose([x, y]);
      params.dispose();
    }
  });
}

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { conv2dFilterGradient } from '../../src/engine/kernels/conv2dBackpropFilter.js';
import { registerTrainingKernels } from '../../src/engine/kernels/index.js';
import { isProjectKernel } from '../../src/engine/kernels/kernelTensors.js';
import { onBackend, randomTensor, relativeError } from './parity.js';
import { registerStockCpu, STOCK_CPU } from './stockCpu.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  x: Shape4;
  w: Shape4;
  stride: number | [number, number];
  pad: Pad;
  bias?: boolean;
}

/** Explicit paddings: uneven on both axes, and one that pads rows on both sides but columns on one. */
const UNEVEN_PAD: Pad = [
  [0, 0],
  [2, 0],
  [1, 2],
  [0, 0],
];
const SIDE_PAD: Pad = [
  [0, 0],
  [1, 1],
  [0, 2],
  [0, 0],
];
/** PyTorch's `padding=1` (the detector's 3x3 convs): with stride 2 on even sizes, one row each side. */
const SYMMETRIC_PAD: Pad = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

/** Odd and even sizes, stride 1 and 2, 1x1 and 3x3 (and 5x5, 2x2), batch 1, one channel, both paddings. */
const CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], w: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 7, 9, 3], w: [3, 3, 3, 4], stride: 1, pad: 'valid', bias: true },
  { x: [2, 7, 9, 3], w: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [2, 8, 8, 3], w: [3, 3, 3, 4], stride: 2, pad: 'same', bias: true },
  { x: [1, 8, 6, 2], w: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  { x: [1, 9, 7, 2], w: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  { x: [1, 5, 5, 1], w: [1, 1, 1, 2], stride: 1, pad: 'same' },
  { x: [3, 4, 6, 5], w: [1, 1, 5, 1], stride: 1, pad: 'valid', bias: true },
  { x: [1, 6, 5, 2], w: [1, 1, 2, 3], stride: 2, pad: 'same' },
  { x: [1, 1, 1, 1], w: [1, 1, 1, 1], stride: 1, pad: 'same' },
  { x: [1, 3, 3, 1], w: [3, 3, 1, 1], stride: 2, pad: 'same' },
  { x: [1, 6, 5, 2], w: [5, 5, 2, 2], stride: 2, pad: 'same' },
  { x: [2, 6, 7, 2], w: [2, 2, 2, 3], stride: 2, pad: 'valid' },
  { x: [1, 5, 6, 2], w: [3, 3, 2, 2], stride: 1, pad: UNEVEN_PAD },
  { x: [1, 5, 6, 2], w: [1, 1, 2, 2], stride: 1, pad: SIDE_PAD },
  { x: [2, 8, 8, 3], w: [3, 3, 3, 4], stride: 2, pad: SYMMETRIC_PAD },
  { x: [1, 8, 6, 16], w: [3, 3, 16, 4], stride: 2, pad: SYMMETRIC_PAD, bias: true },
  // Strides > 1 interleave the phases of dX on the wasm heap: one phase per convolution from 32 input
  // channels on (runs of Cin floats, zero phases for 1x1 and stride > kernel), below that the column phases
  // stacked into one convolution per row phase (whole rows); whole rows too when the column stride is 1.
  { x: [2, 9, 10, 32], w: [3, 3, 32, 4], stride: 2, pad: 'same' },
  { x: [1, 8, 7, 33], w: [3, 3, 33, 3], stride: 2, pad: 'valid', bias: true },
  { x: [1, 7, 7, 32], w: [1, 1, 32, 4], stride: 2, pad: 'valid' },
  { x: [1, 9, 8, 32], w: [3, 3, 32, 2], stride: [1, 2], pad: 'same' },
  // ... and for the filter gradient's phase grid (32+ input channels; forced on every case in its own test):
  // even kernels (a window past the last phase plane), rows and columns no tap reads (cropped), strides
  // above the kernel size, stride 1.
  { x: [1, 8, 8, 32], w: [4, 4, 32, 2], stride: 2, pad: 'same' },
  { x: [2, 7, 5, 32], w: [2, 2, 32, 2], stride: 3, pad: 'valid' },
  { x: [1, 10, 11, 32], w: [3, 3, 32, 3], stride: 3, pad: 'same' },
  { x: [2, 11, 10, 32], w: [3, 3, 32, 5], stride: 2, pad: 'valid' },
  { x: [2, 7, 9, 32], w: [3, 3, 32, 4], stride: 1, pad: 'same', bias: true },
  { x: [1, 6, 5, 33], w: [3, 3, 33, 3], stride: 1, pad: 'valid' },
  { x: [1, 5, 6, 32], w: [3, 3, 32, 2], stride: 1, pad: UNEVEN_PAD },
  { x: [2, 5, 6, 32], w: [1, 1, 32, 2], stride: 1, pad: SIDE_PAD },
  { x: [2, 16, 16, 32], w: [3, 3, 32, 4], stride: 2, pad: SYMMETRIC_PAD },
  { x: [2, 10, 12, 16], w: [3, 3, 16, 8], stride: 2, pad: 'same' },
  { x: [1, 11, 9, 17], w: [3, 3, 17, 4], stride: 2, pad: 'same', bias: true },
  { x: [2, 11, 10, 16], w: [3, 3, 16, 5], stride: 2, pad: 'valid' },
  { x: [1, 10, 12, 16], w: [3, 3, 16, 3], stride: 2, pad: 'valid' },
  { x: [1, 7, 8, 1], w: [3, 3, 1, 1], stride: 2, pad: 'valid' },
  { x: [1, 9, 8, 1], w: [3, 3, 1, 2], stride: 2, pad: 'same' },
  { x: [1, 9, 8, 3], w: [3, 3, 3, 2], stride: [2, 1], pad: 'same' },
  { x: [2, 8, 9, 16], w: [3, 3, 16, 2], stride: [1, 2], pad: 'valid' },
  { x: [1, 10, 11, 2], w: [3, 3, 2, 3], stride: 3, pad: 'same' },
  { x: [1, 8, 8, 3], w: [4, 4, 3, 2], stride: 2, pad: 'same' },
  { x: [1, 7, 7, 16], w: [1, 1, 16, 4], stride: 2, pad: 'valid' },
  { x: [2, 7, 5, 3], w: [2, 2, 3, 2], stride: 3, pad: 'valid' },
  {
    x: [1, 7, 6, 2],
    w: [3, 3, 2, 3],
    stride: 2,
    pad: [
      [0, 0],
      [2, 1],
      [0, 3],
      [0, 0],
    ],
  },
];

/** Forward output and the gradients of sum(conv(x, w) [+ b] * r) for x, w (and b), as arrays. */
function convGrads(c: ConvCase): Float32Array[] {
  const tensors = tf.tidy(() => {
    const x = randomTensor<tf.Rank.R4>(c.x, 11);
    const w = randomTensor<tf.Rank.R4>(c.w, 12);
    const b = randomTensor<tf.Rank.R1>([c.w[3]], 13);
    const forward = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor): tf.Tensor4D =>
      c.bias === true
        ? tf.fused.conv2d({
            x: xx as tf.Tensor4D,
            filter: ww as tf.Tensor4D,
            strides: c.stride,
            pad: c.pad,
            bias: bb,
          })
        : tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.stride, c.pad);
    const y = forward(x, w, b);
    const r = randomTensor(y.shape, 14);
    const grads =
      c.bias === true
        ? tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(forward(xx, ww, bb), r)))([
            x,
            w,
            b,
          ])
        : tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(forward(xx, ww, b), r)))([x, w]);
    return [y, ...grads];
  });
  const out = tensors.map((t) => t.dataSync() as Float32Array);
  tf.dispose(tensors);
  return out;
}

before(async () => {
  await registerStockCpu();
  registerTrainingKernels('cpu');
  registerTrainingKernels('wasm');
});

for (const backend of ['wasm', 'cpu']) {
  test(`conv2d gradients on ${backend} match the stock cpu kernels (${CASES.length} configurations)`, async () => {
    for (const c of CASES) {
      const ref = await onBackend(STOCK_CPU, () => convGrads(c));
      const got = await onBackend(backend, () => convGrads(c));
      const names = ['y', 'dx', 'dw', 'db'];
      got.forEach((g, i) => {
        const e = relativeError(g, ref[i]!);
        assert.ok(
          e < 1e-5,
          `${names[i]} of x ${c.x} w ${c.w} stride ${c.stride} pad ${JSON.stringify(c.pad)}: ${e}`,
        );
      });
    }
  });
}

test('the wasm phase-grid filter gradient, forced on every configuration, matches the stock cpu kernels', async () => {
  // 'auto' takes the phase grid only from 32 input channels and 16x16 outputs; these small shapes test its
  // index arithmetic (odd sizes, strides 1-3, explicit padding, even kernels, crops) directly.
  for (const c of CASES) {
    const ref = await onBackend(STOCK_CPU, () => convGrads(c));
    const got = await onBackend('wasm', () => {
      const dw = tf.tidy(() => {
        const x = randomTensor<tf.Rank.R4>(c.x, 11);
        const w = randomTensor<tf.Rank.R4>(c.w, 12);
        const r = randomTensor<tf.Rank.R4>(tf.conv2d(x, w, c.stride, c.pad).shape, 14);
        return conv2dFilterGradient(tf.backend(), x, r, c.w, c.stride, c.pad, undefined, 'always');
      });
      const values = dw.dataSync() as Float32Array;
      dw.dispose();
      return values;
    });
    const e = relativeError(got, ref[2]!);
    assert.ok(e < 1e-5, `dw of x ${c.x} w ${c.w} stride ${c.stride} pad ${JSON.stringify(c.pad)}: ${e}`);
  }
});

test('Conv2DBackpropFilter/Input called directly: NCHW inputs agree with stock cpu', async () => {
  const run = (): Float32Array[] => {
    const t = tf.tidy(() => {
      const x = randomTensor<tf.Rank.R4>([2, 3, 5, 6], 21); // NCHW
      const dy = randomTensor<tf.Rank.R4>([2, 4, 3, 3], 22); // 3x3 stride 2 'same' output, NCHW
      const dw = tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        {
          strides: 2,
          pad: 'same',
          dataFormat: 'NCHW',
          filterShape: [3, 3, 3, 4],
        },
      ) as tf.Tensor;
      const w = randomTensor<tf.Rank.R4>([3, 3, 3, 4], 23);
      const dx = tf.engine().runKernel(
        'Conv2DBackpropInput',
        { dy, filter: w },
        {
          strides: 2,
          pad: 'same',
          dataFormat: 'NCHW',
          inputShape: [2, 3, 5, 6],
        },
      ) as tf.Tensor;
      return [dw, dx];
    });
    const out = t.map((v) => v.dataSync() as Float32Array);
    tf.dispose(t);
    return out;
  };
  const ref = await onBackend(STOCK_CPU, run);
  for (const backend of ['cpu', 'wasm']) {
    const got = await onBackend(backend, run);
    if (backend === 'wasm') {
      // The stock wasm Conv2DBackpropInput does not support NCHW; only the filter gradient is compared there.
      assert.ok(relativeError(got[0]!, ref[0]!) < 1e-5, `dW NCHW on wasm`);
    } else {
      got.forEach((g, i) => assert.ok(relativeError(g, ref[i]!) < 1e-5, `output ${i} NCHW on cpu`));
    }
  }
});

test('conv2d gradients on a tiny shape agree with central finite differences (wasm)', async () => {
  await onBackend('wasm', () => {
    const xShape: Shape4 = [1, 4, 3, 2];
    const wShape: Shape4 = [3, 3, 2, 2];
    const x0 = randomTensor(xShape, 31);
    const w0 = randomTensor(wShape, 32);
    const r = tf.tidy(() =>
      randomTensor(tf.conv2d(x0 as tf.Tensor4D, w0 as tf.Tensor4D, 2, 'same').shape, 33),
    );
    const loss = (x: tf.Tensor, w: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), r));
    const [gx, gw] = tf.grads(loss)([x0, w0]);
    const h = 1e-2;
    for (const [which, base, grad] of [
      ['x', x0, gx!],
      ['w', w0, gw!],
    ] as const) {
      const values = Array.from(base.dataSync());
      const g = grad.dataSync();
      for (let i = 0; i < values.length; i++) {
        const at = (delta: number): number =>
          tf.tidy(() => {
            const v = [...values];
            v[i]! += delta;
            const t = tf.tensor(v, base.shape);
            return (which === 'x' ? loss(t, w0) : loss(x0, t)).dataSync()[0]!;
          });
        const numeric = (at(h) - at(-h)) / (2 * h);
        assert.ok(
          Math.abs(numeric - g[i]!) < 1e-3 * Math.max(1, Math.abs(numeric)),
          `d${which}[${i}]: ${g[i]} vs ${numeric}`,
        );
      }
    }
    tf.dispose([x0, w0, r, gx!, gw!]);
  });
});

test('matMul with transposed operands (and its gradient) on wasm matches stock cpu', async () => {
  const run = (): Float32Array[] => {
    const t = tf.tidy(() => {
      const a = randomTensor<tf.Rank.R3>([2, 5, 7], 41);
      const b = randomTensor<tf.Rank.R3>([2, 3, 5], 42);
      const bias = randomTensor<tf.Rank.R1>([3], 43);
      const out: tf.Tensor[] = [];
      out.push(tf.matMul(a, b, true, true), tf.matMul(b, a, false, false));
      out.push(
        tf.fused.matMul({
          a,
          b,
          transposeA: true,
          transposeB: true,
          bias,
          activation: 'relu',
        }),
      );
      const g = tf.grads((aa: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(
          tf.square(
            tf.fused.matMul({
              a: aa as tf.Tensor3D,
              b: bb as tf.Tensor3D,
              transposeA: true,
              transposeB: true,
              bias,
            }),
          ),
        ),
      )([a, b]);
      return [...out, ...g];
    });
    const out = t.map((v) => v.dataSync() as Float32Array);
    tf.dispose(t);
    return out;
  };
  const ref = await onBackend(STOCK_CPU, run);
  const got = await onBackend('wasm', run);
  got.forEach((g, i) =>
    assert.ok(relativeError(g, ref[i]!) < 1e-5, `output ${i}: ${relativeError(g, ref[i]!)}`),
  );
});

test('registerTrainingKernels: idempotent, lists its kernels, leaves tensorflow/webgl alone', () => {
  const wasm = registerTrainingKernels('wasm');
  assert.deepEqual(registerTrainingKernels('wasm'), wasm);
  assert.ok(
    wasm.includes('Conv2DBackpropFilter') &&
      wasm.includes('Conv2DBackpropInput') &&
      wasm.includes('BatchMatMul'),
  );
  assert.deepEqual(registerTrainingKernels('cpu'), ['Conv2DBackpropFilter', 'ResizeNearestNeighborGrad']);
  assert.deepEqual(registerTrainingKernels('tensorflow'), []);
  assert.deepEqual(registerTrainingKernels('webgl'), []);
  for (const name of wasm) assert.ok(isProjectKernel(tf.getKernel(name, 'wasm')), name);
  assert.equal(
    tf.getKernelsForBackend('tensorflow').some((k) => isProjectKernel(k)),
    false,
  );
});

test('conv2d training steps on wasm leave tf.memory().numTensors unchanged', async () => {
  await onBackend('wasm', () => {
    const x = randomTensor<tf.Rank.R4>([2, 6, 6, 3], 51);
    const w1 = tf.variable(randomTensor<tf.Rank.R4>([3, 3, 3, 4], 52));
    const w2 = tf.variable(randomTensor<tf.Rank.R4>([1, 1, 4, 2], 53));
    const opt = tf.train.sgd(0.01);
    const step = (): void => {
      const cost = opt.minimize(() => {
        const h = tf.relu(tf.conv2d(x, w1, 2, 'same'));
        return tf.mean(tf.square(tf.conv2d(h, w2, 1, 'valid')));
      }, true);
      cost?.dispose();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, w1, w2]);
    opt.dispose();
  });
});

test('conv gradient kernels on wasm free all their intermediates (tensors and backend buffers)', async () => {
  await onBackend('wasm', () => {
    // Interleaved phases, stacked column phases, zero phases (1x1 stride 2), and a cropped dy (explicit
    // padding beyond the taps).
    const configs: { x: Shape4; w: Shape4; stride: number; pad: Pad }[] = [
      { x: [1, 32, 32, 32], w: [3, 3, 32, 4], stride: 2, pad: 'same' }, // the phase-grid dW
      { x: [2, 9, 8, 32], w: [3, 3, 32, 4], stride: 2, pad: 'same' },
      { x: [2, 9, 8, 3], w: [3, 3, 3, 4], stride: 2, pad: 'same' },
      { x: [1, 7, 7, 32], w: [1, 1, 32, 4], stride: 2, pad: 'valid' },
      {
        x: [1, 7, 6, 2],
        w: [3, 3, 2, 3],
        stride: 2,
        pad: [
          [0, 0],
          [2, 1],
          [0, 3],
          [0, 0],
        ],
      },
    ];
    const x = configs.map((c) => randomTensor<tf.Rank.R4>(c.x, 61));
    const w = configs.map((c) => randomTensor<tf.Rank.R4>(c.w, 62));
    const dy = configs.map((c, i) =>
      tf.tidy(() => randomTensor<tf.Rank.R4>(tf.conv2d(x[i]!, w[i]!, c.stride, c.pad).shape, 63)),
    );
    const run = (): void => {
      configs.forEach((c, i) => {
        const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
        const dx = tf
          .engine()
          .runKernel(
            'Conv2DBackpropInput',
            { dy: dy[i]!, filter: w[i]! },
            { ...attrs, inputShape: c.x },
          ) as tf.Tensor;
        const dw = tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: x[i]!, dy: dy[i]! },
            { ...attrs, filterShape: c.w },
          ) as tf.Tensor;
        tf.dispose([dx, dw]);
      });
    };
    run();
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    run();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.engine().backend.numDataIds(), buffers);
    tf.dispose([...x, ...w, ...dy]);
  });
});

test('Conv2DBackpropInput on wasm: a filter reused across calls (cached phase filters) and after many others (evicted) gives the same dX; no leak', async () => {
  await tf.setBackend('wasm');
  registerTrainingKernels('wasm');
  const dy = randomTensor<tf.Rank.R4>([2, 4, 4, 8], 21);
  const w = randomTensor<tf.Rank.R4>([3, 3, 6, 8], 22);
  const inputGrad = (filter: tf.Tensor4D, stride: number): Float32Array => {
    const dx = tf.engine().runKernel(
      'Conv2DBackpropInput',
      { dy, filter },
      {
        strides: stride,
        pad: SYMMETRIC_PAD,
        dataFormat: 'NHWC',
        inputShape: [2, 4 * stride, 4 * stride, 6],
      },
    ) as tf.Tensor;
    const values = dx.dataSync() as Float32Array;
    dx.dispose();
    return values;
  };
  const before = tf.memory().numTensors;
  const s1 = inputGrad(w, 1);
  const s2 = inputGrad(w, 2); // another phase geometry of the same filter
  assert.deepEqual(inputGrad(w, 1), s1);
  const copy = tf.tidy(() => tf.add(w, 0)) as tf.Tensor4D; // same values, new data: built afresh
  assert.deepEqual(inputGrad(copy, 2), s2);
  for (let i = 0; i < 120; i++) {
    const other = randomTensor<tf.Rank.R4>([3, 3, 6, 8], 100 + i);
    inputGrad(other, 1);
    other.dispose();
  }
  assert.deepEqual(inputGrad(w, 1), s1);
  assert.deepEqual(inputGrad(w, 2), s2);
  copy.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([w, dy]);
});

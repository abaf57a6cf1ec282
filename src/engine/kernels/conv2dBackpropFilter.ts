/**
 * `Conv2DBackpropFilter` (the filter gradient dW of a 2-D convolution), built from fast stock ops.
 *
 * The wasm backend of tfjs 4.22 has no such kernel at all, and the cpu backend's is pathological (about
 * 116 s for one [8,64,64,32]x[3,3,32,32] filter gradient). Both get this one.
 *
 * Math (NHWC, filter [kh, kw, Cin, Cout], stride s, padding top/left from TF's rules):
 *   dW[i, j, c, o] = sum over n, y, x of xpad[n, y*sH + i, x*sW + j, c] * dy[n, y, x, o].
 * That is itself a convolution ("conv trick") once the batch axis is made the channel axis:
 *   xT  = transpose(xpad, [3, 1, 2, 0])   [Cin, Hp, Wp, N]    (batch of Cin images with N channels)
 *   dyT = transpose(dy,   [1, 2, 0, 3])   [h, w, N, Cout]     (dy used as the filter)
 *   r   = conv2d(xT, dyT, strides 1, 'valid', dilations = [sH, sW])   [Cin, kh, kw, Cout]
 *   dW  = transpose(r, [1, 2, 0, 3])      [kh, kw, Cin, Cout]
 * with xpad cropped to exactly (kh - 1) + (h - 1)*sH + 1 rows (and likewise columns), so that r has kh rows;
 * the padding is the convolution's own (explicit padding of xT's spatial axes), not a copy.
 * One XNNPACK convolution on wasm; any kernel size, stride and padding. A 1x1 stride-1 unpadded filter
 * gradient is one plain matMul with an explicitly transposed operand (transposed matMuls are slow on wasm).
 * On wasm, filters with at least MIN_PHASE_GRID_CHANNELS input channels and MIN_PHASE_GRID_PIXELS output
 * pixels take a phase-grid patch matrix and one matMul instead (`filterGradientByPhases`), 10-30 % faster
 * there for stride 2, 8-19 % for stride 1.
 * 'NCHW' inputs are transposed to NHWC first.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  conv2dInfoNhwc,
  heapFloat32,
  isWasmHeapBackend,
  markProjectKernel,
  runOnTensors,
  type WasmHeapBackend,
} from './kernelTensors.js';

/** Largest patch matrix the wasm path builds (floats, 64 MiB); beyond it the conv trick runs. */
const MAX_PATCH_FLOATS = 1 << 24;

/**
 * Fewest input channels for the wasm phase-grid path. With fewer, the patch matrix has few rows and the
 * passes over x and dy outweigh the matMul: measured for 3x3 stride 2 on [8, 2H, 2W, Cin] (alone and inside
 * the detector's training step), the conv trick is 15-25 % faster at Cin 3, the two are even at 16, the
 * phase grid is 10-30 % faster at 32 and 64 and even at 128. For 3x3 stride 1 with 32 to 128 input
 * channels (the detector's residual blocks, FPN and heads) the phase grid is 8-19 % faster.
 */
const MIN_PHASE_GRID_CHANNELS = 32;

/**
 * Fewest output pixels per image (h*w) for the wasm phase-grid path: on small maps the grid's extra rows and
 * columns are a large share of the matMul (3x3 stride 1 on 8x8: 10x10 grid positions for 8x8 outputs).
 * Alternated call by call in the detector's training step, the conv trick was faster on its 8x8 outputs and
 * the phase grid from 16x16 on.
 */
const MIN_PHASE_GRID_PIXELS = 256;

/**
 * dW on the wasm heap, as one untransposed matMul of a patch matrix with dy:
 *   dW[(i, j, c), o] = sum over (n, y, x) of P[(i, j, c), (n, y, x)] * dy[(n, y, x), o].
 * Phase grid: with i = sH*p + a (a in [0, sH)) and j = sW*q + b, the tap (i, j) reads the (a, b) phase of
 * xpad, X_ab[n, Y, X, c] = xpad[n, sH*Y + a, sW*X + b, c], at (y + p, x + q). On a grid of Hg = h + pMax
 * by Wg = w + qMax positions per image, that is a shift by p*Wg + q of the whole flattened phase plane
 * [N*Hg*Wg] of one channel, so every row of P is one contiguous copy on the heap. dy is zero-padded to the
 * same grid, so the grid positions outside [h, w] (where a shifted window runs into the next grid row or
 * image) are multiplied by zeros. Stride 1 is the single phase xpad itself (a "flat-shift" im2col).
 * Layouts, by stock ops: xpad [N, sH*Hg, sW*Wg, Cin] -> (2-D transpose) [Cin, N*Hg, sH, Wg, sW] ->
 * (4-D transpose) phases [sH, sW, Cin, N*Hg*Wg]. dy needs no transpose: the grid-padded dy [N*Hg*Wg, Cout]
 * is the matMul's right operand as it is. The conv trick instead transposes x and dy and runs a convolution
 * whose filter is dy as [h, w, N, Cout]: h*w taps of only N channels each.
 *
 * @returns dW [kh, kw, Cin, Cout], or null when the patch matrix would exceed MAX_PATCH_FLOATS.
 */
function filterGradientByPhases(
  backend: WasmHeapBackend,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D | null {
  const [n, inH, inW, cin] = x.shape;
  const { filterHeight: kh, filterWidth: kw, outHeight: h, outWidth: w, outChannels: cout } = info;
  const { strideHeight: sH, strideWidth: sW } = info;
  const { top, left } = info.padInfo;
  const hg = h + Math.floor((kh - 1) / sH);
  const wg = w + Math.floor((kw - 1) / sW);
  const plane = n * hg * wg;
  if (kh * kw * cin * plane > MAX_PATCH_FLOATS) return null;
  // xpad on the grid: rows [0, sH*Hg) of the padded input (x rows beyond it are read by no tap).
  const rows = Math.min(inH, sH * hg - top);
  const cols = Math.min(inW, sW * wg - left);
  const xc = rows < inH || cols < inW ? tf.slice(x, [0, 0, 0, 0], [n, rows, cols, cin]) : x;
  const xg = tf.pad(xc, [
    [0, 0],
    [top, sH * hg - top - rows],
    [left, sW * wg - left - cols],
    [0, 0],
  ]);
  // [(n, Y, a, X, b), c] -> [c, (n, Y), a, X, b] -> [a, b, (c, n, Y), X]: phase planes, channel-major.
  const xT = tf.transpose(tf.reshape(xg, [plane * sH * sW, cin]));
  const phases = tf.transpose(tf.reshape(xT, [cin * n * hg, sH, wg, sW]), [1, 3, 0, 2]);
  const out = backend.makeOutput([kh * kw * cin, plane], 'float32');
  const [heap, p0] = heapFloat32(backend, out);
  const ph0 = heapFloat32(backend, phases)[1];
  const phEnd = ph0 + sH * sW * cin * plane;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const shift = Math.floor(i / sH) * wg + Math.floor(j / sW);
      const phase = (i % sH) * sW + (j % sW);
      for (let c = 0; c < cin; c++) {
        const dst = p0 + ((i * kw + j) * cin + c) * plane;
        const src = ph0 + (phase * cin + c) * plane + shift;
        // The last plane's window runs past the phases' end: those grid positions meet zero dy; zero them.
        const end = Math.min(src + plane, phEnd);
        heap.copyWithin(dst, src, end);
        if (end - src < plane) heap.fill(0, dst + end - src, dst + plane);
      }
    }
  }
  const patches = tf
    .engine()
    .makeTensorFromTensorInfo(out, backend as unknown as tf.KernelBackend) as tf.Tensor2D;
  const dyg = tf.pad(dy, [
    [0, 0],
    [0, hg - h],
    [0, wg - w],
    [0, 0],
  ]);
  return tf.reshape(tf.matMul(patches, tf.reshape(dyg, [plane, cout])), [kh, kw, cin, cout]);
}

/**
 * The filter gradient of `conv2d(x, W, strides, pad)` for upstream gradient `dy`, NHWC.
 *
 * @param backend the backend the kernel runs on (strides > 1 use the wasm heap when it is the wasm one).
 * @param x convolution input [N, H, W, Cin].
 * @param dy gradient of the convolution output [N, h, w, Cout], h/w as the forward conv computes them.
 * @param filterShape [kh, kw, Cin, Cout].
 * @param phaseGrid whether the wasm phase-grid path runs: 'auto' (default) where it was measured faster
 *   (MIN_PHASE_GRID_CHANNELS, MIN_PHASE_GRID_PIXELS), or 'always' / 'never' (tests compare the paths).
 * @returns dW [kh, kw, Cin, Cout].
 */
export function conv2dFilterGradient(
  backend: unknown,
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropFilterAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
  phaseGrid: 'auto' | 'always' | 'never' = 'auto',
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, cin, cout] = filterShape;
    const [n, inH, inW] = x.shape;
    const info = conv2dInfoNhwc(x.shape, filterShape, strides, pad, dimRoundingMode);
    const { top, left } = info.padInfo;
    const [sH, sW] = [info.strideHeight, info.strideWidth];
    const [h, w] = [dy.shape[1], dy.shape[2]];
    if (h !== info.outHeight || w !== info.outWidth || dy.shape[3] !== cout) {
      throw new Error(
        `Conv2DBackpropFilter: dy has shape [${dy.shape}], expected [${n},${info.outHeight},${info.outWidth},${cout}] ` +
          `for x [${x.shape}], filter [${filterShape}], strides ${JSON.stringify(strides)}, pad ${JSON.stringify(pad)}`,
      );
    }
    const unpadded1x1 = kh === 1 && kw === 1 && sH === 1 && sW === 1 && top === 0 && left === 0;
    if (unpadded1x1 && h === inH && w === inW && phaseGrid !== 'always') {
      // dW = x2^T dy2 with x2 [N*H*W, Cin], dy2 [N*H*W, Cout], as one untransposed matMul. On wasm, packing
      // the right operand (XNNPACK's weights) costs more per float than transposing the left one, so the
      // operand with fewer channels goes right: dW^T = dy2^T x2 when Cin < Cout.
      const x2 = tf.reshape(x, [n * inH * inW, cin]);
      const dy2 = tf.reshape(dy, [n * h * w, cout]);
      if (cin < cout) return tf.reshape(tf.transpose(tf.matMul(tf.transpose(dy2), x2)), filterShape);
      return tf.reshape(tf.matMul(tf.transpose(x2), dy2), filterShape);
    }
    const worthGrid = cin >= MIN_PHASE_GRID_CHANNELS && h * w >= MIN_PHASE_GRID_PIXELS;
    if (isWasmHeapBackend(backend) && (phaseGrid === 'always' || (phaseGrid === 'auto' && worthGrid))) {
      const byPhases = filterGradientByPhases(backend, x, dy, info);
      if (byPhases !== null) return byPhases;
    }
    // Rows/columns of the padded input that the kernel taps actually read.
    const needH = kh + (h - 1) * sH;
    const needW = kw + (w - 1) * sW;
    const bottom = needH - inH - top;
    const right = needW - inW - left;
    // The convolution pads xT itself (explicit padding on its spatial axes, no copy); only a negative
    // bottom/right (input rows no tap reads, e.g. 'valid' with a leftover row) needs a crop first.
    let xc: tf.Tensor4D = x;
    if (bottom < 0 || right < 0) {
      xc = tf.slice(x, [0, 0, 0, 0], [n, Math.min(inH, needH - top), Math.min(inW, needW - left), cin]);
    }
    // Batch becomes channels: [Cin, H, W, N]; dy becomes the filter: [h, w, N, Cout].
    const xT = tf.transpose(xc, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    const padding: [[0, 0], [number, number], [number, number], [0, 0]] = [
      [0, 0],
      [top, Math.max(0, bottom)],
      [left, Math.max(0, right)],
      [0, 0],
    ];
    const r = tf.conv2d(xT, dyT, 1, padding, 'NHWC', [sH, sW]); // [Cin, kh, kw, Cout]
    return tf.transpose(r, [1, 2, 0, 3]);
  });
}

/** The kernel config of `Conv2DBackpropFilter` for `backendName` (inputs x, dy; attrs as tfjs-core's). */
export function conv2dBackpropFilterConfig(backendName: string): tf.KernelConfig {
  const kernelFunc = markProjectKernel(({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
      attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    return runOnTensors(backend as tf.KernelBackend, [x, dy], (xt, dyt) => {
      let x4 = xt as tf.Tensor4D;
      let dy4 = dyt as tf.Tensor4D;
      if (dataFormat === 'NCHW') {
        // [N, C, H, W] -> [N, H, W, C]; the filter layout is [kh, kw, Cin, Cout] in both formats.
        x4 = tf.transpose(x4, [0, 2, 3, 1]);
        dy4 = tf.transpose(dy4, [0, 2, 3, 1]);
      }
      return conv2dFilterGradient(backend, x4, dy4, filterShape, strides, pad, dimRoundingMode);
    });
  });
  return { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc };
}

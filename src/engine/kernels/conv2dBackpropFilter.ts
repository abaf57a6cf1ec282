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
 * 'NCHW' inputs are transposed to NHWC first.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dInfoNhwc, markProjectKernel, runOnTensors } from './kernelTensors.js';

/**
 * The filter gradient of `conv2d(x, W, strides, pad)` for upstream gradient `dy`, NHWC.
 *
 * @param x convolution input [N, H, W, Cin].
 * @param dy gradient of the convolution output [N, h, w, Cout], h/w as the forward conv computes them.
 * @param filterShape [kh, kw, Cin, Cout].
 * @returns dW [kh, kw, Cin, Cout].
 */
export function conv2dFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropFilterAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
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
    if (kh === 1 && kw === 1 && sH === 1 && sW === 1 && h === inH && w === inW && top === 0 && left === 0) {
      // dW = x2^T dy2 with x2 [N*H*W, Cin], dy2 [N*H*W, Cout], as one untransposed matMul: transpose whichever
      // operand has fewer channels (the copy is the expensive part), i.e. dW^T = dy2^T x2 when Cout < Cin.
      const x2 = tf.reshape(x, [n * inH * inW, cin]);
      const dy2 = tf.reshape(dy, [n * h * w, cout]);
      if (cout < cin) return tf.reshape(tf.transpose(tf.matMul(tf.transpose(dy2), x2)), filterShape);
      return tf.reshape(tf.matMul(tf.transpose(x2), dy2), filterShape);
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
      return conv2dFilterGradient(x4, dy4, filterShape, strides, pad, dimRoundingMode);
    });
  });
  return { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc };
}

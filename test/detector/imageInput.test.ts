import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { prepareImage } from '../../src/detector/imageInput.js';
import { parseRetinaNetConfig } from '../../src/detector/config.js';

const cfg = parseRetinaNetConfig({ preprocess: { img_scale: [64, 64], size_divisor: 32 } }).preprocess;

test('prepareImage: keep-ratio resize, normalise, zero padding to the size divisor; meta maps back', async () => {
  await setupBackend({ backend: 'cpu' });
  // A 20x50 (H x W) constant image: longest side 50 -> 64, scale 1.28, 26x64, padded to 32x64.
  const img = tf.fill([20, 50, 3], 200) as tf.Tensor3D;
  const { input, meta } = prepareImage(img, cfg);
  assert.deepEqual(input.shape, [1, 32, 64, 3]);
  assert.deepEqual(meta.originalSize, [20, 50]);
  assert.deepEqual(meta.resizedSize, [26, 64]);
  assert.deepEqual(meta.paddedSize, [32, 64]);
  assert.deepEqual(meta.scale, [26 / 20, 64 / 50]);
  const v = input.dataSync();
  const at = (y: number, x: number, c: number): number => v[(y * 64 + x) * 3 + c]!;
  assert.ok(Math.abs(at(0, 0, 0) - (200 - cfg.mean[0]) / cfg.std[0]) < 1e-5);
  assert.ok(Math.abs(at(25, 63, 2) - (200 - cfg.mean[2]) / cfg.std[2]) < 1e-5);
  assert.equal(at(26, 0, 0), 0);
  assert.equal(at(31, 63, 1), 0);
  tf.dispose([img, input]);
});

test('prepareImage: RGBA raw pixels (ImageData) give the same input as the RGB tensor; bad sizes are explained', async () => {
  await setupBackend({ backend: 'cpu' });
  const w = 10;
  const h = 6;
  const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 255], 4 * i);
  const t = tf.tensor3d(rgb, [h, w, 3], 'int32');
  const a = prepareImage(t, cfg);
  const b = prepareImage({ data: rgba, width: w, height: h, channels: 4 }, cfg);
  assert.deepEqual(b.input.dataSync(), a.input.dataSync());
  // Without `channels` (as a browser ImageData comes) the length tells RGB from RGBA.
  const c = prepareImage({ data: new Uint8ClampedArray(rgba), width: w, height: h }, cfg);
  assert.deepEqual(c.input.dataSync(), a.input.dataSync());
  assert.throws(
    () => prepareImage({ data: rgba.subarray(1), width: w, height: h }, cfg),
    /image.data has 239 values, expected width \* height \* channels = 10 \* 6 \* 3 \(or \* 4 for RGBA\)/,
  );
  assert.throws(
    () => prepareImage({ data: rgba, width: w, height: h, channels: 3 }, cfg),
    /image.data has 240 values, expected width \* height \* channels = 10 \* 6 \* 3; pass channels: 4/,
  );
  tf.dispose([t, a.input, b.input, c.input]);
});

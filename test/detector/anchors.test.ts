import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anchorsPerLocation,
  baseAnchorsXyxy,
  concatLevelAnchors,
  generateAnchors,
} from '../../src/detector/anchors.js';

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-4): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= tol,
      `index ${i}: got ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

test('base anchors: ratio-major, scale-minor, w = s*scale/sqrt(r), h = s*scale*sqrt(r), centred on 0', () => {
  const opts = { octave_base_scale: 2, scales_per_octave: 2, ratios: [0.5, 2], strides: [4] };
  assert.equal(anchorsPerLocation(opts), 4);
  // stride 4, scales 2 and 2*sqrt(2); ratio 0.5: w = 4*2*sqrt(2) = 11.3137, h = 5.6569; scale 2.828: w 16, h 8.
  close(
    baseAnchorsXyxy(4, opts),
    [
      -5.656854, -2.828427, 5.656854, 2.828427, -8, -4, 8, 4, -2.828427, -5.656854, 2.828427, 5.656854, -4,
      -8, 4, 8,
    ],
  );
});

test('level anchors: shifted by (x*stride, y*stride), order (y, x, anchor), centre offset 0', () => {
  const opts = { octave_base_scale: 4, scales_per_octave: 1, ratios: [1], strides: [8, 16] };
  const levels = generateAnchors(
    [
      [2, 2],
      [1, 1],
    ],
    opts,
  );
  assert.equal(levels.length, 2);
  // P3: a 32x32 square at (0,0), (8,0), (0,8), (8,8).
  close(levels[0]!.anchorsXyxy, [-16, -16, 16, 16, -8, -16, 24, 16, -16, -8, 16, 24, -8, -8, 24, 24]);
  // P4: a 64x64 square at (0,0).
  close(levels[1]!.anchorsXyxy, [-32, -32, 32, 32]);
  assert.equal(concatLevelAnchors(levels).length, 20);
});

test('RetinaNet default anchors: 9 per location, P3 sizes 32..50.8 px', () => {
  const opts = { octave_base_scale: 4, scales_per_octave: 3, ratios: [0.5, 1, 2], strides: [8] };
  const base = baseAnchorsXyxy(8, opts);
  assert.equal(base.length, 36);
  // ratio 1 (index 1), scales 0 and 2: 32 and 32 * 2^(2/3) = 50.80 px squares.
  close([base[4 * 3 + 2]! - base[4 * 3]!], [32]);
  close([base[4 * 5 + 2]! - base[4 * 5]!], [50.7968]);
});

test('generateAnchors: a level count that disagrees with the strides is an error naming both', () => {
  const opts = { octave_base_scale: 4, scales_per_octave: 1, ratios: [1], strides: [8, 16] };
  assert.throws(() => generateAnchors([[2, 2]], opts), /featureSizes has 1 levels, expected 2/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LOG_RATIO, decodeBoxes, encodeBoxes } from '../../src/detector/boxCoder.js';
import { Random } from '../../src/utils/random.js';

const coders = [
  {
    target_means: [0, 0, 0, 0] as [number, number, number, number],
    target_stds: [1, 1, 1, 1] as [number, number, number, number],
  },
  {
    target_means: [0.1, -0.1, 0.05, 0] as [number, number, number, number],
    target_stds: [0.1, 0.1, 0.2, 0.2] as [number, number, number, number],
  },
];

test('box coder: literal encoding of a shifted, scaled box', () => {
  const anchor = Float32Array.from([0, 0, 10, 20]);
  const gt = Float32Array.from([5, 10, 25, 30]);
  const d = encodeBoxes(anchor, gt);
  // centres (5,10) -> (15,20), sizes (10,20) -> (20,20).
  const expected = [1, 0.5, Math.log(2), 0];
  expected.forEach((v, i) => assert.ok(Math.abs(d[i]! - v) < 1e-6, `delta ${i}: ${d[i]} vs ${v}`));
});

test('box coder: decode(encode(gt)) == gt for random boxes, with and without means/stds', () => {
  const rnd = new Random(7);
  const n = 50;
  const anchors = new Float32Array(4 * n);
  const gts = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const ax = rnd.uniform(0, 100);
    const ay = rnd.uniform(0, 100);
    anchors.set([ax, ay, ax + rnd.uniform(4, 60), ay + rnd.uniform(4, 60)], 4 * i);
    const gx = rnd.uniform(0, 100);
    const gy = rnd.uniform(0, 100);
    gts.set([gx, gy, gx + rnd.uniform(2, 80), gy + rnd.uniform(2, 80)], 4 * i);
  }
  for (const coder of coders) {
    const back = decodeBoxes(anchors, encodeBoxes(anchors, gts, coder), coder);
    for (let i = 0; i < 4 * n; i++)
      assert.ok(Math.abs(back[i]! - gts[i]!) < 1e-3, `coord ${i}: ${back[i]} vs ${gts[i]}`);
  }
});

test('box coder: dw/dh are clamped to |log(16/1000)| and boxes clipped to the image', () => {
  const anchor = Float32Array.from([40, 40, 60, 60]);
  const huge = decodeBoxes(anchor, Float32Array.from([0, 0, 50, -50]));
  const w = huge[2]! - huge[0]!;
  const h = huge[3]! - huge[1]!;
  assert.ok(Math.abs(w - 20 * Math.exp(MAX_LOG_RATIO)) < 1e-2, `width ${w}`);
  assert.ok(Math.abs(h - 20 * Math.exp(-MAX_LOG_RATIO)) < 1e-5, `height ${h}`);
  const clipped = decodeBoxes(anchor, Float32Array.from([0, 0, 50, 0]), undefined, [64, 80]);
  assert.deepEqual(Array.from(clipped), [0, 40, 80, 60]);
});

test('box coder: mismatched lengths are rejected with both lengths', () => {
  assert.throws(
    () => encodeBoxes(new Float32Array(8), new Float32Array(4)),
    /anchorsXyxy has length 8 and gtXyxy 4/,
  );
});

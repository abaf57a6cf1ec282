import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, formatDuration } from '../../src/train/progress.js';

function capture(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (s: string) => out.push(s) } };
}

test('Progress: on a terminal one line is redrawn with \\r, with bar, loss, images/s and ETA', () => {
  let t = 0;
  const { out, stream } = capture(true);
  const p = new Progress({ total: 4, stream, now: () => t });
  t = 2000;
  p.update({ iter: 1, loss: 1.23456, imagesPerSec: 8, lr: 0.01 });
  t = 4000;
  p.update({ iter: 2, loss: 0.5, imagesPerSec: 8, lr: 0.01 });
  p.message('eval');
  p.finish();
  assert.equal(out.length, 4);
  assert.ok(
    out[0]!.startsWith('\r[#####...............] 1/4  25%  loss 1.2346  8.0 img/s  lr 0.0100  ETA 0:06'),
    out[0],
  );
  assert.ok(out[1]!.includes('[##########..........] 2/4  50%') && out[1]!.includes('ETA 0:04'), out[1]);
  assert.equal(out[2], '\r\x1b[Keval\n');
  assert.equal(out[3], '\n');
});

test('Progress: plain lines every `plainEvery` iterations and at the end when not a terminal', () => {
  const { out, stream } = capture(false);
  const p = new Progress({ total: 5, stream, plainEvery: 2, now: () => 0 });
  for (let i = 1; i <= 5; i++) p.update({ iter: i, loss: 1, imagesPerSec: 1, lr: 0.1 });
  p.finish();
  assert.deepEqual(
    out.map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['iter 2/5', 'iter 4/5', 'iter 5/5'],
  );
  assert.ok(out.every((l) => l.endsWith('\n') && !l.includes('\r')));
});

test('formatDuration: m:ss, h:mm:ss, unknown', () => {
  assert.equal(formatDuration(65), '1:05');
  assert.equal(formatDuration(3723), '1:02:03');
  assert.equal(formatDuration(NaN), '--:--');
});

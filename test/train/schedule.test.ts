import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lrSchedule } from '../../src/train/schedule.js';

test('lrSchedule: linear warm-up from 1/3 of the rate, then steps of x0.1', () => {
  const lr = lrSchedule({ baseLr: 0.03, warmupIters: 4, steps: [6, 8] });
  // mmdet: lr = base * (1 - (1 - i/4) * (1 - 1/3))
  assert.ok(Math.abs(lr(0) - 0.01) < 1e-12);
  assert.ok(Math.abs(lr(2) - 0.03 * (1 - 0.5 * (2 / 3))) < 1e-12);
  assert.equal(lr(4), 0.03);
  assert.equal(lr(5), 0.03);
  assert.ok(Math.abs(lr(6) - 0.003) < 1e-12);
  assert.ok(Math.abs(lr(7) - 0.003) < 1e-12);
  assert.ok(Math.abs(lr(8) - 0.0003) < 1e-12);
  assert.ok(Math.abs(lr(100) - 0.0003) < 1e-12);
});

test('lrSchedule: warm-up also scales a rate already stepped down; no warm-up means the plain rate', () => {
  const lr = lrSchedule({ baseLr: 1, warmupIters: 10, steps: [0], gamma: 0.5, warmupRatio: 0.5 });
  assert.equal(lr(0), 0.25);
  assert.equal(lrSchedule({ baseLr: 0.02 })(0), 0.02);
});

test('lrSchedule: rejects bad options naming the field', () => {
  assert.throws(() => lrSchedule({ baseLr: 0 }), /baseLr/);
  assert.throws(() => lrSchedule({ baseLr: 0.1, steps: [5, 3] }), /steps must be ascending/);
  assert.throws(() => lrSchedule({ baseLr: 0.1, warmupIters: -1 }), /warmupIters/);
  assert.throws(() => lrSchedule({ baseLr: 0.1, warmupRatio: 0 }), /warmupRatio/);
});

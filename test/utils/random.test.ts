import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/utils/random.js';

test('Random: same seed, same sequence; state round-trips', () => {
  const a = new Random(42);
  const b = new Random(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.next()),
  );
  const saved = a.getState();
  const cont = Array.from({ length: 3 }, () => a.next());
  const c = new Random(0).setState(saved);
  assert.deepEqual(
    Array.from({ length: 3 }, () => c.next()),
    cont,
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1);
  assert.notDeepEqual(new Random(43).next(), new Random(42).next());
});

test('Random: int bounds are inclusive and shuffle is a permutation', () => {
  const r = new Random(1);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(r.int(2, 4));
  assert.deepEqual([...seen].sort(), [2, 3, 4]);
  const p = r.shuffle([0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4, 5]);
  assert.throws(() => r.setState(-1), /uint32/);
});

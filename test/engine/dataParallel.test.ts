import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { averageGradients, DataParallel } from '../../src/engine/dataParallel/dataParallel.js';
import type { GradientResult } from '../../src/engine/dataParallel/replica.js';
import { createReplica, type TinyConfig, type TinyShard } from './fixtures/tinyReplica.js';
import { randomValues } from './parity.js';

const MODULE = new URL('./fixtures/tinyReplica.ts', import.meta.url);
const CONFIG: TinyConfig = { seed: 3, learningRate: 0.05 };

function batch(step: number, n: number): TinyShard {
  return { x: randomValues(n * 6 * 6 * 2, 1000 + step), y: randomValues(n * 3 * 3 * 2, 2000 + step), n };
}

/** Splits a batch of 2n images into two shards of n. */
function halves(b: TinyShard): TinyShard[] {
  const n = b.n / 2;
  const xs = 6 * 6 * 2;
  const ys = 3 * 3 * 2;
  return [0, 1].map((i) => ({
    x: b.x.slice(i * n * xs, (i + 1) * n * xs),
    y: b.y.slice(i * n * ys, (i + 1) * n * ys),
    n,
  }));
}

test('averageGradients: float64 mean in replica order, one float32 rounding', () => {
  const avg = averageGradients([
    [new Float32Array([1, 2]), new Float32Array([0.1])],
    [new Float32Array([3, -2]), new Float32Array([0.2])],
  ]);
  assert.deepEqual(Array.from(avg[0]!), [2, 0]);
  assert.equal(avg[1]![0], Math.fround((Math.fround(0.1) + Math.fround(0.2)) / 2));
});

test('DataParallel with 2 replicas (one worker thread): replicas stay bit-identical and match the averaged single-replica update', async () => {
  await setupBackend({ backend: 'wasm' });
  const dp = await DataParallel.create<TinyConfig, TinyShard>({
    replicaModule: MODULE,
    config: CONFIG,
    replicas: 2,
  });
  // Reference: one in-process replica applying the mean of the two shard gradients itself.
  const ref = createReplica(CONFIG);
  try {
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const shards = halves(batch(step, 4));
      const r = await dp.step(shards);
      losses.push(r.scalars['loss']!);
      assert.equal(r.replicaScalars.length, 2);
      const g = averageGradients(shards.map((s) => (ref.computeGradients(s) as GradientResult).grads));
      ref.applyUpdate(g);
    }
    const w0 = await dp.readWeights(0);
    const w1 = await dp.readWeights(1);
    const wr = ref.readWeights();
    assert.equal(w0.length, wr.length);
    w0.forEach((w, i) => {
      assert.deepEqual(Array.from(w), Array.from(w1[i]!), `replicas differ in variable ${i}`);
      assert.deepEqual(Array.from(w), Array.from(wr[i]!), `variable ${i} differs from the reference update`);
    });
    assert.ok(losses.every(Number.isFinite));
  } finally {
    ref.dispose?.();
    await dp.close();
  }
});

test('DataParallel with 1 replica starts no worker and trains in-process without leaks', async () => {
  await setupBackend({ backend: 'wasm' });
  const dp = await DataParallel.create<TinyConfig, TinyShard>({ replicaModule: MODULE, config: CONFIG });
  assert.equal(dp.replicas, 1);
  const first = await dp.step([batch(0, 2)]);
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 5; i++) last = await dp.step([batch(0, 2)]);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(last.scalars['loss']! < first.scalars['loss']!, 'loss did not fall on a fixed batch');
  await assert.rejects(dp.step([batch(0, 2), batch(1, 2)]), /got 2 shards, expected one per replica \(1\)/);
  await dp.close();
});

test('DataParallel: bad replica counts and modules are clear errors', async () => {
  await assert.rejects(
    DataParallel.create({ replicaModule: MODULE, config: CONFIG, replicas: 0 }),
    /`replicas` must be an integer >= 1; got 0/,
  );
  await assert.rejects(
    DataParallel.create({ replicaModule: new URL('./parity.ts', import.meta.url), config: CONFIG }),
    /does not export createReplica/,
  );
});

test('DataParallel: a replica that fails to start in a worker is reported with its index and cause', async () => {
  await setupBackend({ backend: 'wasm' });
  // A backend the worker cannot set up fails only in the worker (replica 0 uses this thread's backend).
  await assert.rejects(
    DataParallel.create<TinyConfig, TinyShard>({
      replicaModule: MODULE,
      config: CONFIG,
      replicas: 2,
      backend: 'gpu9',
    }),
    /data-parallel replica 1: .*unknown backend "gpu9"/,
  );
  await assert.rejects(
    DataParallel.create<TinyConfig, TinyShard>({
      replicaModule: MODULE,
      config: { seed: 1, learningRate: 0 },
    }),
    /learningRate must be > 0; got 0/,
  );
});

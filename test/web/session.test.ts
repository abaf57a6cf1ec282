import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { TrainingSession, type MainJobConfig } from '../../web/src/session.js';

const CONFIG = JSON.parse(
  readFileSync(new URL('../../configs/shapes_ghmc_ghmr.json', import.meta.url), 'utf8'),
) as MainJobConfig;

test("the playground's training session: the main job's net trains on in-memory shapes and leaks nothing", async () => {
  await setupBackend({ backend: 'wasm' });
  const before = tf.memory().numTensors;
  const session = new TrainingSession({ config: CONFIG, clsLoss: 'GHM-C', batchSize: 4 });
  const steps = [session.step(), session.step(), session.step()];
  assert.deepEqual(
    steps.map((s) => s.iter),
    [1, 2, 3],
  );
  for (const s of steps) assert.ok(Number.isFinite(s.loss) && s.loss > 0, `loss ${s.loss}`);
  assert.ok(steps[2]!.lr > steps[0]!.lr, 'the learning rate warms up');
  const stats = session.gradientStats();
  assert.equal(stats.iteration, 3);
  assert.ok(stats.classification!.numValid > 0);
  assert.equal(session.ghmWeights()!.length, 30, 'GHM-C bin weights of the last step');
  const val = session.validationImage(0);
  assert.equal(val.rgb.data.length, 64 * 64 * 3);
  assert.ok(val.objects.length > 0);
  const dets = session.detect([val], 5);
  assert.ok(dets[0]!.length <= 5);
  for (const d of dets[0]!) assert.ok(['circle', 'square', 'triangle', 'cross'].includes(d.class));
  session.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensors left after dispose');
  assert.throws(
    () => new TrainingSession({ config: CONFIG, clsLoss: 'MSE' as never }),
    /clsLoss "MSE", expected one of CE, focal, GHM-C/,
  );
});

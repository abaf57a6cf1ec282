/**
 * Parity of an imported ImageNet ResNet (`torchvision_resnet50`, here a narrow one with random weights): the
 * model directory holds the backbone only; `init_from` loads it into a detector and the backbone's C2..C5 match
 * torchvision's body on the fixture's input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { formatInitReport, initFromModelDir } from '../../src/detector/initFrom.js';
import { loadRetinaNet } from '../../src/detector/modelIO.js';
import { readModelDirInfo } from '../../src/detector/modelDir.js';
import { nodeFileHandler } from '../../src/detector/nodeFileHandler.js';
import { RetinaNet } from '../../src/detector/retinaNet.js';
import { FIXTURE_ROOT, HEAD_RTOL, readFixture, relativeError } from './fixture.js';

test('parity torchvision_resnet50: the imported backbone gives torchvision C2..C5; init reports what it loaded', async (t) => {
  await setupBackend({ backend: 'cpu' });
  const f = readFixture(join(FIXTURE_ROOT, 'torchvision_resnet50'));
  const info = await readModelDirInfo(f.modelDir);
  assert.equal(info.weights, 'backbone');
  await assert.rejects(loadRetinaNet(nodeFileHandler(f.modelDir)), /backbone weights only.*train --init/);

  const model = new RetinaNet(info.modelConfig, { seed: 3 });
  try {
    const report = await initFromModelDir(model, f.modelDir);
    // Every tensor of the directory (the exporter's count) lands in a backbone variable.
    assert.equal(report.loaded.length, f.converted_tensors);
    assert.ok(report.loaded.every((n) => n.startsWith('backbone/')));
    assert.ok(report.skipped.length > 0 && report.skipped.every((s) => !s.name.startsWith('backbone/')));
    const line = formatInitReport(report);
    assert.match(
      line,
      new RegExp(
        `loaded ${f.converted_tensors} tensors, skipped \\d+: neck/\\* \\(\\d+, not in the model directory\\), head/\\*`,
      ),
    );
    t.diagnostic(line);

    const x = f.arrays['batch']!;
    const input = tf.tensor4d(x.data as Float32Array, x.shape as [number, number, number, number]);
    const feats = model.backbone.apply(input, false);
    feats.forEach((c, i) => {
      const ref = f.arrays[`c${i + 2}`]!;
      assert.deepEqual(c.shape, ref.shape, `C${i + 2} shape`);
      const err = relativeError(c.dataSync(), ref.data);
      assert.ok(err <= HEAD_RTOL, `C${i + 2} relative error ${err}`);
      t.diagnostic(`C${i + 2} relative error ${err.toExponential(2)}`);
    });
    tf.dispose([input, ...feats]);
  } finally {
    model.dispose();
  }
});

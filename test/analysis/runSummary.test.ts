import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunLog, type RunFolder } from '../../src/analysis/runFiles.js';
import { summarizeRun, trainingSeconds } from '../../src/analysis/runSummary.js';

const train = (iter: number, time: number | null, imagesPerSecond = 10) => ({
  iter,
  lr: 0.01,
  imagesPerSecond,
  time,
  losses: { loss: 1 },
});

test('trainingSeconds: the last time of each session, a resumed session restarting at 0; null without times', () => {
  assert.equal(trainingSeconds([train(10, 5), train(20, 12), train(30, 20)]), 20);
  // stopped after 12 s, resumed: the new session's clock starts again
  assert.equal(trainingSeconds([train(10, 5), train(20, 12), train(30, 4), train(40, 9)]), 21);
  assert.equal(trainingSeconds([train(10, null)]), null);
  assert.equal(trainingSeconds([]), null);
});

test('summarizeRun: eval.json over the log, absent (-1) metrics left out, both naming schemes, loss types', () => {
  const log = parseRunLog(
    [
      { mode: 'train', iter: 10, loss: 2, images_per_s: 20, time: 3 },
      { mode: 'train', iter: 20, loss: 1, images_per_s: 40, time: 6 },
      {
        mode: 'val',
        iter: 20,
        bbox_mAP: 0.2,
        bbox_mAP_50: 0.4,
        bbox_mAP_75: -1,
        bbox_mAP_s: 0.1,
        bbox_mAP_l: -1,
      },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );
  const run: RunFolder = {
    dir: 'r',
    name: 'r',
    config: { model: { head: { loss_cls: { type: 'GHMC', bins: 30 }, loss_bbox: { type: 'GHMR' } } } },
    log,
    gradStats: [],
    finalEval: null,
    drawn: [],
  };
  const fromLog = summarizeRun(run);
  assert.deepEqual(fromLog.primary, [
    { label: 'AP', value: 0.2 },
    { label: 'AP50', value: 0.4 },
  ]);
  assert.deepEqual(fromLog.bySize, [{ label: 'AP small', value: 0.1 }]);
  assert.deepEqual(fromLog.evaluation, { iter: 20, final: false });
  assert.equal(fromLog.trainingSeconds, 6);
  assert.equal(fromLog.iterations, 20);
  assert.equal(fromLog.imagesPerSecond, 30);
  assert.deepEqual(fromLog.losses, { loss_cls: 'GHMC', loss_bbox: 'GHMR' });

  const final = summarizeRun({
    ...run,
    config: null,
    finalEval: {
      iter: 20,
      metrics: { 'AP@[.50:.95]|all|100': 0.25, 'AP@.50|all|100': 0.5, 'AP@[.50:.95]|large|100': -1 },
    },
  });
  assert.deepEqual(final.primary, [
    { label: 'AP', value: 0.25 },
    { label: 'AP50', value: 0.5 },
  ]);
  assert.deepEqual(final.bySize, []);
  assert.deepEqual(final.evaluation, { iter: 20, final: true });
  assert.deepEqual(final.losses, {});
  const empty = summarizeRun({ ...run, log: { train: [], val: [] } });
  assert.equal(empty.evaluation, null);
  assert.equal(empty.trainingSeconds, null);
  assert.equal(empty.iterations, null);
});

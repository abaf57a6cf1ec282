import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { describeStats, statsOptionsFor } from '../../src/cli/analyze.js';
import { smallStats } from './fixtures.js';

const minimalTrain = { max_iters: 1 };

test('analyze: statistics options follow the run losses', () => {
  const ghm = parseConfig({
    model: {
      head: {
        loss_cls: { type: 'GHMC', bins: 20, momentum: 0.5 },
        loss_bbox: { type: 'GHMR', mu: 0.05, bins: 5, momentum: 0.7 },
      },
    },
    train: minimalTrain,
  });
  assert.deepEqual(statsOptionsFor(ghm.model), { ghmcBins: 20, ghmrBins: 5, mu: 0.05 });
  const fl = parseConfig({
    model: {
      head: {
        loss_cls: { type: 'FocalLoss', gamma: 1.5, alpha: 0.25 },
        loss_bbox: { type: 'SmoothL1Loss', beta: 0.2 },
      },
    },
    train: minimalTrain,
  });
  assert.deepEqual(statsOptionsFor(fl.model), { focalGamma: 1.5, smoothL1Beta: 0.2 });
});

test('analyze: the summary lines report counts and occupied regions', async () => {
  await setupBackend({ backend: 'cpu' });
  const lines = describeStats(smallStats(5));
  assert.match(
    lines[0]!,
    /^classification: 10 valid \(anchor, class\) pairs, 2 positive; g < 0\.1: \d+\.\d\d %/,
  );
  const stats = smallStats(5);
  const c = stats.classification!;
  const risen = c.negativeCounts.slice(c.fine.bins / 10).reduce((a, n) => a + n, 0);
  assert.ok(
    risen > 0 && risen < c.numNegative,
    `the fixture has negatives on both sides of p = 0.1 (${risen})`,
  );
  assert.equal(
    describeStats(stats)[1],
    `classification background: ${risen} of 8 negative pairs (${((100 * risen) / 8).toFixed(2)} %) score p >= 0.1`,
  );
  assert.match(
    lines[2]!,
    /^classification fit: top-scoring class = label on \d+\.\d % of 2 positive anchors/,
  );
  assert.match(lines[3]!, /^regression: 2 positives, 8 coordinates; \d+\/10 GHM-R regions occupied$/);
  assert.match(lines[4]!, /^regression fit, correlation .*: dx -?\d\.\d\d \(.*\), dy .*, dw .*, dh .*$/);
});

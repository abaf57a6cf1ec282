import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import { AnchorBalanceAccumulator } from '../../src/analysis/anchorBalance.js';
import { measureAnchorBalance } from '../../src/analysis/measureAnchorBalance.js';
import { parseConfig } from '../../src/config.js';
import { generateAnchors, concatLevelAnchors } from '../../src/detector/anchors.js';
import { assignAnchors, ASSIGNED_IGNORE, ASSIGNED_NEGATIVE } from '../../src/detector/maxIouAssigner.js';
import type { ImageTargets } from '../../src/detector/targets.js';
import { buildModel, loadData } from '../../src/train/detectorRun.js';
import { run as dataCommand } from '../../src/cli/data.js';
import { tempDir } from './fixtures.js';

let dir = '';
before(async () => {
  dir = await tempDir('anchors');
  await setupBackend({});
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Targets of one image from per-anchor codes: 'p' positive, 'n' negative, 'i' ignored. */
function targetsOf(codes: string): ImageTargets {
  const a = codes.length;
  const t: ImageTargets = {
    labels: new Float32Array(a * 3),
    labelWeights: new Float32Array(a),
    bboxTargets: new Float32Array(a * 4),
    bboxWeights: new Float32Array(a * 4),
    numPos: 0,
  };
  [...codes].forEach((c, i) => {
    if (c !== 'i') t.labelWeights[i] = 1;
    if (c === 'p') {
      t.labels[i * 3 + 1] = 1;
      t.bboxWeights.fill(1, 4 * i, 4 * i + 4);
      t.numPos++;
    }
  });
  return t;
}

test('AnchorBalanceAccumulator: counts per level and in all, ratios over anchors and (anchor, class) pairs', () => {
  const acc = new AnchorBalanceAccumulator(3, [8, 16]);
  acc.add(targetsOf('pnnnip' + 'nni'), [6, 3], 2); // level 0: 2 p, 3 n, 1 i; level 1: 2 n, 1 i
  acc.add(targetsOf('nnnnnn' + 'pnn'), [6, 3], 1); // level 0: 6 n; level 1: 1 p, 2 n
  const b = acc.result();
  assert.equal(b.images, 2);
  assert.equal(b.objects, 3);
  assert.equal(b.anchorsPerImage, 9);
  assert.deepEqual(b.levels, [
    { stride: 8, positives: 2, negatives: 9, ignored: 1 },
    { stride: 16, positives: 1, negatives: 4, ignored: 1 },
  ]);
  assert.deepEqual(b.total, { positives: 3, negatives: 13, ignored: 2 });
  assert.equal(b.negativesPerPositive, 13 / 3);
  assert.equal(b.negativePairsPerPositivePair, (3 * 13 + 2 * 3) / 3);
  assert.equal(b.positivesPerObject, 1);
});

test('AnchorBalanceAccumulator: no positives gives Infinity, not NaN; a level split that does not add up is an error', () => {
  const acc = new AnchorBalanceAccumulator(2, [8]);
  assert.throws(() => acc.add(targetsOf('nnn'), [2], 0), /sum to 2 anchors, the targets hold 3/);
  assert.throws(() => acc.add(targetsOf('nnn'), [1, 2], 0), /2 levels, expected 1/);
  acc.add(targetsOf('nni'), [3], 0);
  assert.equal(acc.result().negativesPerPositive, Infinity);
  assert.throws(() => new AnchorBalanceAccumulator(0, [8]), /numClasses: expected an integer >= 1, got 0/);
});

test('measureAnchorBalance: equals a direct count with the anchor generator and the assigner on every image', async () => {
  const root = join(dir, 'shapes');
  const config = parseConfig(
    {
      model: {
        backbone: { stemChannels: 8, widths: [8, 8, 8, 8] },
        neck: { outChannels: 8 },
        head: { stackedConvs: 1, featChannels: 8 },
        preprocess: { img_scale: [64, 64] },
      },
      data: { root, shapes: { train: 5, val: 2, size: 64, minObjectSize: 0.2, maxObjectSize: 0.6 } },
      train: { max_iters: 1 },
    },
    'test',
  );
  const data = await loadData(config.data);
  const model = buildModel(config);
  const before = tf.memory().numTensors;
  const b = await measureAnchorBalance(model, config, data.train);
  assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
  model.dispose();

  // Independent count: 64x64 inputs give 8x8, 4x4 and 2x2 maps at strides 8, 16, 32 (9 anchors per cell).
  const gen = config.model.head.anchor_generator;
  const levels = generateAnchors(
    [
      [8, 8],
      [4, 4],
      [2, 2],
    ],
    gen,
  );
  const anchors = concatLevelAnchors(levels);
  const want = { positives: 0, negatives: 0, ignored: 0 };
  let objects = 0;
  for (const im of data.train.images) {
    const gt = Float32Array.from(im.annotations.flatMap((a) => a.bboxXyxy));
    objects += im.annotations.length;
    for (const g of assignAnchors(anchors, gt, undefined, config.model.head.assigner)) {
      if (g === ASSIGNED_IGNORE) want.ignored++;
      else if (g === ASSIGNED_NEGATIVE) want.negatives++;
      else want.positives++;
    }
  }
  assert.equal(b.images, 5);
  assert.equal(b.objects, objects);
  assert.equal(b.anchorsPerImage, 756);
  assert.deepEqual(b.total, want);
  assert.ok(b.total.positives >= objects, 'every box claims at least its best anchor');
  assert.equal(
    b.levels.reduce((s, l) => s + l.positives + l.negatives + l.ignored, 0),
    5 * 756,
  );

  // The CLI prints the same counts as JSON.
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const lines: string[] = [];
  const log = console.log;
  console.log = (line: string) => lines.push(line);
  try {
    assert.equal(await dataCommand(['anchors', '--config', configFile, '--json']), 0);
  } finally {
    console.log = log;
  }
  const printed = JSON.parse(lines.at(-1)!);
  assert.equal(printed.split, 'train');
  assert.deepEqual(printed.total, want);
  assert.equal(printed.negativesPerPositive, want.negatives / want.positives);
});

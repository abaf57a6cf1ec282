import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateShapesDataset, shapesSplitPaths } from '../../src/data/shapes.js';
import { readCocoDataset } from '../../src/data/coco.js';
import { DetectionLoader, type DetectionBatch } from '../../src/data/loader.js';
import type { DetectionDataset } from '../../src/data/dataset.js';
import { writePng } from '../../src/data/image.js';

/** Boxes are float32: expected values follow the same roundings. */
const f = Math.fround;
let dir: string;
let ds: DetectionDataset;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-loader-'));
  await generateShapesDataset(dir, { train: 7, val: 0, size: 40, seed: 1 });
  ds = await readCocoDataset(shapesSplitPaths(dir, 'train'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const summary = (b: DetectionBatch) => ({
  ids: b.imageIds,
  flipped: b.flipped,
  shape: b.shape,
  epoch: b.epoch,
  index: b.index,
  boxes: b.gtBoxes.map((x) => Array.from(x)),
});

test('loader: an epoch serves every image once, in padded, normalised batches with their boxes', async () => {
  const loader = new DetectionLoader(ds, { batchSize: 3, seed: 5, mean: [0, 0, 0], std: [255, 255, 255] });
  assert.equal(loader.batchesPerEpoch, 3);
  assert.equal(loader.caching, true);
  const batches = [await loader.next(), await loader.next(), await loader.next()];
  assert.deepEqual(
    batches.map((b) => b.shape),
    [
      [3, 64, 64, 3],
      [3, 64, 64, 3],
      [1, 64, 64, 3],
    ],
  );
  const ids = batches.flatMap((b) => b.imageIds);
  assert.deepEqual(
    [...ids].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.notDeepEqual(ids, [1, 2, 3, 4, 5, 6, 7]);
  const b = batches[0]!;
  for (let k = 0; k < 3; k++) {
    const rec = ds.images.find((im) => im.id === b.imageIds[k])!;
    assert.deepEqual(
      Array.from(b.gtBoxes[k]!),
      Array.from(Float32Array.from(rec.annotations.flatMap((a) => a.bboxXyxy))),
    );
    assert.deepEqual(
      Array.from(b.gtLabels[k]!),
      rec.annotations.map((a) => a.classIndex),
    );
    assert.deepEqual(b.scaleFactors[k], [1, 1]);
    assert.deepEqual(b.imageShapes[k], [40, 40]);
  }
  // Values in [0, 1] inside the image, exactly 0 in the padding (row 50 of image 0).
  const row50 = b.images.subarray(50 * 64 * 3, 51 * 64 * 3);
  assert.ok(row50.every((v) => v === 0));
  assert.ok(
    b.images.subarray(0, 40 * 3).every((v) => v >= 0 && v <= 1) &&
      b.images.subarray(0, 40 * 3).some((v) => v > 0),
  );
  assert.equal((await loader.next()).epoch, 1);
});

test('loader: restoring a saved state gives the same following batches (across epochs, with flips)', async () => {
  const opts = { batchSize: 2, seed: 9, flipProb: 0.5, prefetch: 2 };
  const a = new DetectionLoader(ds, opts);
  await a.next();
  await a.next();
  const saved = JSON.parse(JSON.stringify(a.state()));
  assert.deepEqual({ epoch: saved.epoch, index: saved.index }, { epoch: 0, index: 2 });
  const rest: DetectionBatch[] = [];
  for (let k = 0; k < 5; k++) rest.push(await a.next());
  assert.deepEqual(
    rest.map((b) => [b.epoch, b.index]),
    [
      [0, 2],
      [0, 3],
      [1, 0],
      [1, 1],
      [1, 2],
    ],
  );
  assert.ok(rest.some((b) => b.flipped.includes(true)) && rest.some((b) => b.flipped.includes(false)));

  const b = new DetectionLoader(ds, { ...opts, prefetch: 0, cache: false });
  b.restore(saved);
  assert.equal(b.caching, false);
  for (const want of rest) {
    const got = await b.next();
    assert.deepEqual(summary(got), summary(want));
    assert.deepEqual(got.images, want.images);
  }
  // Restoring on a loader with batches already prefetched discards them.
  a.restore(saved);
  assert.deepEqual(summary(await a.next()), summary(rest[0]!));
  // A flipped image's boxes are mirrored: x1' = W - x2.
  const fb = rest.find((x) => x.flipped.includes(true))!;
  const k = fb.flipped.indexOf(true);
  const rec = ds.images.find((im) => im.id === fb.imageIds[k])!;
  const [x1, y1, x2, y2] = rec.annotations[0]!.bboxXyxy;
  assert.deepEqual(Array.from(fb.gtBoxes[k]!.subarray(0, 4)), [40 - f(x2), f(y1), 40 - f(x1), f(y2)].map(f));

  assert.throws(
    () => b.restore({ ...saved, index: 4 }),
    /expected \{ epoch >= 0, index in 0\.\.3, rngState uint32 \}/,
  );
  const c = new DetectionLoader(ds, { ...opts, batchSize: 3 });
  assert.throws(
    () => c.restore(saved),
    /the state is for 7 images in batches of 2, this loader has 7 in batches of 3/,
  );
});

test('loader: resize, fixed pad shape, dropLast', async () => {
  const loader = new DetectionLoader(ds, {
    batchSize: 3,
    shuffle: false,
    resizeScale: [60, 60],
    padShape: [96, 64],
    dropLast: true,
  });
  assert.equal(loader.batchesPerEpoch, 2);
  const b = await loader.next();
  assert.deepEqual(b.shape, [3, 96, 64, 3]);
  assert.deepEqual(b.imageIds, [1, 2, 3]);
  assert.deepEqual(b.scaleFactors[0], [1.5, 1.5]);
  assert.deepEqual(b.imageShapes[0], [60, 60]);
  assert.deepEqual(b.originalShapes[0], [40, 40]);
  const want = ds.images[0]!.annotations[0]!.bboxXyxy.map((v) => f(f(v) * 1.5));
  assert.deepEqual(Array.from(b.gtBoxes[0]!.subarray(0, 4)), want);
  await loader.next();
  assert.deepEqual((await loader.next()).imageIds, [1, 2, 3]);
  assert.throws(() => new DetectionLoader(ds, { batchSize: 0 }), /batchSize must be an integer >= 1, got 0/);
});

test('loader: a missing, corrupt or resized image file is an error naming the file and image id', async () => {
  const bad = await mkdtemp(join(tmpdir(), 'ghmdet-loader-bad-'));
  try {
    const root = shapesSplitPaths(dir, 'train').imageRoot;
    const copy = { ...ds, root: bad, images: ds.images.slice(0, 1) };
    const one = () => new DetectionLoader(copy, { batchSize: 1, cache: false, prefetch: 0 });
    await assert.rejects(one().next(), /image file .*000001\.png \(image id 1\) does not exist/);
    await writeFile(
      join(bad, '000001.png'),
      (await import('node:fs')).readFileSync(join(root, '000001.png')).subarray(0, 60),
    );
    await assert.rejects(
      one().next(),
      /image file .*000001\.png \(image id 1\) could not be decoded: .*; is it a complete JPEG or PNG file\?/,
    );
    await writePng({ data: new Uint8Array(8 * 6 * 3), width: 8, height: 6 }, join(bad, '000001.png'));
    await assert.rejects(
      one().next(),
      /000001\.png \(image id 1\) is 8x6 pixels but the annotations say 40x40/,
    );
    await copyFile(join(root, '000001.png'), join(bad, '000001.png'));
    assert.equal((await one().next()).imageIds[0], 1);
  } finally {
    await rm(bad, { recursive: true, force: true });
  }
});

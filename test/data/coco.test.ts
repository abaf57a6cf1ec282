import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCocoGroundTruth, readCocoDataset, writeCocoDataset } from '../../src/data/coco.js';
import { CategoryMap, toCocoGroundTruth } from '../../src/data/dataset.js';
import { WARN_CLIPPED, WARN_ZERO_AREA } from '../../src/data/boxValidation.js';

/** A small valid ground truth with non-contiguous category ids listed out of order. */
function gt() {
  return {
    images: [
      { id: 10, file_name: 'a.png', width: 40, height: 30 },
      { id: 11, file_name: 'b.png', width: 20, height: 20 },
    ],
    annotations: [
      { id: 1, image_id: 10, category_id: 90, bbox: [1.5, 2, 10, 5.25], area: 52.5, iscrowd: 0 },
      { id: 2, image_id: 10, category_id: 3, bbox: [0, 0, 40, 30], area: 1200, iscrowd: 1 },
      { id: 3, image_id: 11, category_id: 17, bbox: [4, 4, 2, 2], area: 3, iscrowd: 0 },
    ],
    categories: [
      { id: 90, name: 'toothbrush' },
      { id: 3, name: 'car', supercategory: 'vehicle' },
      { id: 17, name: 'cat' },
    ],
  };
}

const parse = (json: unknown) => parseCocoGroundTruth(json, { imageRoot: '/imgs', source: 'gt.json' });

test('COCO: non-contiguous category ids map to contiguous class indices by ascending id, and back', () => {
  const ds = parse(gt());
  assert.deepEqual(
    ds.categories.map((c) => [c.id, c.name]),
    [
      [3, 'car'],
      [17, 'cat'],
      [90, 'toothbrush'],
    ],
  );
  const m = new CategoryMap(ds.categories);
  assert.equal(m.classIndex(90), 2);
  assert.equal(m.classIndex(4), undefined);
  assert.equal(m.categoryId(1), 17);
  assert.throws(() => m.categoryId(3), /class index must be an integer in 0\.\.2, got 3/);
  const a = ds.images[0]!.annotations;
  assert.deepEqual(a[0], {
    id: 1,
    bboxXyxy: [1.5, 2, 11.5, 7.25],
    classIndex: 2,
    categoryId: 90,
    iscrowd: false,
    area: 52.5,
  });
  assert.equal(a[1]!.iscrowd, true);
  assert.equal(ds.images[1]!.annotations[0]!.classIndex, 1);
  assert.equal(ds.warnings.total, 0);
});

test('COCO: write -> read -> the same dataset and the same ground-truth dict', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-coco-'));
  try {
    const ds = parse(gt());
    ds.root = dir;
    const file = join(dir, 'annotations', 'out.json');
    await writeCocoDataset(ds, file);
    const back = await readCocoDataset({ annotationFile: file, imageRoot: dir, checkImages: 'none' });
    assert.deepEqual(back.categories, ds.categories);
    assert.deepEqual(back.images, ds.images);
    assert.deepEqual(toCocoGroundTruth(back), toCocoGroundTruth(ds));
    const dict = toCocoGroundTruth(ds);
    assert.deepEqual(dict.annotations[0], {
      id: 1,
      image_id: 10,
      category_id: 90,
      bbox: [1.5, 2, 10, 5.25],
      area: 52.5,
      iscrowd: 0,
    });
    assert.deepEqual(dict.categories[0], { id: 3, name: 'car', supercategory: 'vehicle' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('COCO: zero-area boxes are skipped and boxes partly outside are clipped, both counted', () => {
  const j = gt();
  j.annotations.push(
    { id: 4, image_id: 11, category_id: 3, bbox: [5, 5, 0, 3], area: 0, iscrowd: 0 },
    { id: 5, image_id: 11, category_id: 3, bbox: [15, -2, 10, 6], area: 60, iscrowd: 0 },
    { id: 6, image_id: 11, category_id: 3, bbox: [1, 1, 3, 0], area: 0, iscrowd: 0 },
  );
  const ds = parse(j);
  assert.equal(ds.warnings.count(WARN_ZERO_AREA), 2);
  assert.equal(ds.warnings.count(WARN_CLIPPED), 1);
  const b = ds.images[1]!.annotations;
  assert.deepEqual(
    b.map((a) => a.id),
    [3, 5],
  );
  assert.deepEqual(b[1]!.bboxXyxy, [15, 0, 20, 4]);
  assert.match(
    ds.warnings.summary()[0]!,
    /^warning: 2 x zero-area box skipped \(e\.g\. gt\.json: annotation id 4 \(image id 11\)/,
  );
});

test('COCO: missing iscrowd and area are filled in with a counted warning', () => {
  const j = gt() as { annotations: Record<string, unknown>[] };
  delete j.annotations[0]!['iscrowd'];
  delete j.annotations[0]!['area'];
  const ds = parse(j);
  assert.equal(ds.warnings.total, 2);
  assert.equal(ds.images[0]!.annotations[0]!.area, 52.5);
  assert.equal(ds.images[0]!.annotations[0]!.iscrowd, false);
});

test('COCO: bad input is an error naming the file, the record and the problem', async () => {
  const cases: [(j: ReturnType<typeof gt>) => unknown, RegExp][] = [
    [() => [], /gt\.json: expected a JSON object at the top level/],
    [
      (j) => ({ ...j, images: undefined }),
      /gt\.json: top-level field "images" must be an array, got nothing/,
    ],
    [
      (j) => (((j.images[1] as Record<string, unknown>)['width'] = 0), j),
      /gt\.json: image id 11: field "width" must be a positive integer, got 0/,
    ],
    [
      (j) => (delete (j.images[0] as Record<string, unknown>)['file_name'], j),
      /image id 10: field "file_name" must be a string/,
    ],
    [(j) => ((j.annotations[2]!.image_id = 99), j), /annotation id 3: image_id 99 is not in "images"/],
    [
      (j) => ((j.annotations[2]!.category_id = 5), j),
      /annotation id 3 \(image id 11\): category_id 5 is not in "categories" \(known: 3, 17, 90\)/,
    ],
    [
      (j) => ((j.annotations[1]!.bbox = [0, 0, 1]), j),
      /annotation id 2: field "bbox" must be an array of 4 numbers/,
    ],
    [
      (j) => ((j.annotations[1]!.bbox = [0, 0, -3, 2]), j),
      /annotation id 2 \(image id 10\): box has a negative size, got width -3/,
    ],
    [
      (j) => ((j.annotations[1]!.bbox = [0, 0, Infinity, 2]), j),
      /annotation id 2 \(image id 10\): box has a non-finite coordinate/,
    ],
    [
      (j) => ((j.annotations[1]!.bbox = [50, 0, 3, 2]), j),
      /annotation id 2 \(image id 10\): box \[50, 0, 53, 2\] \(xyxy\) lies entirely outside the 40x30 image/,
    ],
    [(j) => (j.annotations.push({ ...j.annotations[0]! }), j), /annotations\[3\]: duplicate annotation id 1/],
    [(j) => (j.categories.push({ id: 3, name: 'x' }), j), /categories\[3\]: duplicate category id 3/],
    [
      (j) => ((j.annotations[0]!.iscrowd = 2), j),
      /annotation id 1 \(image id 10\): field "iscrowd" must be 0 or 1, got 2/,
    ],
  ];
  for (const [edit, re] of cases) assert.throws(() => parse(edit(gt())), re);

  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-coco-bad-'));
  try {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"images": [');
    await assert.rejects(
      readCocoDataset({ annotationFile: bad, imageRoot: dir }),
      /COCO annotation file .*bad\.json is not valid JSON/,
    );
    await assert.rejects(
      readCocoDataset({ annotationFile: join(dir, 'none.json'), imageRoot: dir }),
      /COCO annotation file .*none\.json could not be read/,
    );
    const ok = join(dir, 'ok.json');
    await writeFile(ok, JSON.stringify(gt()));
    await writeFile(join(dir, 'a.png'), 'x');
    await assert.rejects(
      readCocoDataset({ annotationFile: ok, imageRoot: dir }),
      /ok\.json: 1 of 2 image files do not exist, e\.g\. .*b\.png \(image id 11\)/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

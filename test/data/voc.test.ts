import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVocDataset, VOC_CLASSES } from '../../src/data/voc.js';
import { toCocoGroundTruth } from '../../src/data/dataset.js';

function xml(width: number, height: number, objects: string): string {
  return `<annotation><folder>VOC</folder><filename>x.jpg</filename>
  <size><width>${width}</width><height>${height}</height><depth>3</depth></size>${objects}</annotation>`;
}

function obj(name: string, box: [number, number, number, number], difficult = 0): string {
  const [xmin, ymin, xmax, ymax] = box;
  return `<object><name>${name}</name><pose>Left</pose><truncated>0</truncated><difficult>${difficult}</difficult>
  <bndbox><xmin>${xmin}</xmin><ymin>${ymin}</ymin><xmax>${xmax}</xmax><ymax>${ymax}</ymax></bndbox></object>`;
}

async function vocDir(files: Record<string, string>, split: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ghmdet-voc-'));
  await mkdir(join(root, 'Annotations'));
  await mkdir(join(root, 'JPEGImages'));
  await mkdir(join(root, 'ImageSets', 'Main'), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(root, 'Annotations', `${name}.xml`), text);
    await writeFile(join(root, 'JPEGImages', `${name}.jpg`), 'not decoded here');
  }
  await writeFile(join(root, 'ImageSets', 'Main', 'trainval.txt'), split.join('\n') + '\n');
  return root;
}

test('VOC: 1-based inclusive pixel boxes become 0-based continuous xyxy; difficult is kept', async () => {
  const root = await vocDir(
    {
      '2007_000001': xml(50, 40, obj('dog', [1, 1, 50, 40]) + obj('cat', [10, 5, 19, 14], 1)),
      '2007_000002': xml(30, 30, obj('cat', [3, 4, 3, 4])),
      '2007_000003': xml(20, 20, ''),
    },
    ['2007_000001', '2007_000002', '2007_000003'],
  );
  try {
    const ds = await readVocDataset({ root, split: 'trainval', classes: ['cat', 'dog'] });
    assert.deepEqual(ds.categories, [
      { id: 1, name: 'cat' },
      { id: 2, name: 'dog' },
    ]);
    const [a, b, c] = ds.images;
    assert.equal(a!.fileName, join('JPEGImages', '2007_000001.jpg'));
    assert.equal(a!.sourceId, '2007_000001');
    assert.deepEqual([a!.width, a!.height], [50, 40]);
    // The whole image: xmin=1..xmax=W -> [0, W].
    assert.deepEqual(a!.annotations[0], {
      id: 1,
      bboxXyxy: [0, 0, 50, 40],
      classIndex: 1,
      categoryId: 2,
      iscrowd: false,
      area: 2000,
      difficult: false,
    });
    assert.deepEqual(a!.annotations[1]!.bboxXyxy, [9, 4, 19, 14]);
    assert.equal(a!.annotations[1]!.difficult, true);
    assert.equal(a!.annotations[1]!.area, 100);
    // A one-pixel box (xmin == xmax) is 1 px wide, not empty.
    assert.deepEqual(b!.annotations[0]!.bboxXyxy, [2, 3, 3, 4]);
    assert.equal(c!.annotations.length, 0);
    assert.equal(ds.warnings.total, 0);
    const dict = toCocoGroundTruth(ds);
    assert.deepEqual(dict.annotations[1], {
      id: 2,
      image_id: 1,
      category_id: 1,
      bbox: [9, 4, 10, 10],
      area: 100,
      iscrowd: 0,
      difficult: 1,
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('VOC: the default class list is the 20 VOC classes', async () => {
  const root = await vocDir({ a: xml(10, 10, obj('tvmonitor', [2, 2, 5, 5])) }, ['a']);
  try {
    const ds = await readVocDataset({ root, split: 'trainval' });
    assert.equal(ds.categories.length, 20);
    assert.equal(ds.images[0]!.annotations[0]!.classIndex, VOC_CLASSES.indexOf('tvmonitor'));
    assert.equal(ds.images[0]!.annotations[0]!.categoryId, 20);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('VOC: bad input is an error naming the file, the object and the problem', async () => {
  const cases: [string, RegExp][] = [
    [
      xml(10, 10, obj('horse', [1, 1, 5, 5])),
      /a\.xml: object 1: class "horse" is not in the class list \(cat, dog\)/,
    ],
    ['<annotation><size><width>10</width>', /a\.xml: malformed XML at line/],
    ['<annotation><filename>x</filename></annotation>', /a\.xml: no <size> element/],
    [xml(0, 10, ''), /a\.xml: <size> must hold positive integer width and height, got 0x10/],
    [
      xml(10, 10, obj('cat', [1, 1, 5, 5]).replace('<ymax>5</ymax>', '')),
      /a\.xml: object 1: <bndbox\/ymax> must be a number, got nothing/,
    ],
    [xml(10, 10, obj('cat', [6, 1, 4, 5])), /a\.xml: object 1: box has a negative size, got width -1/],
    [
      xml(10, 10, obj('cat', [12, 1, 14, 5])),
      /a\.xml: object 1: box \[11, 0, 14, 5\] \(xyxy\) lies entirely outside the 10x10 image/,
    ],
    [
      xml(
        10,
        10,
        obj('cat', [1, 1, 5, 5]) +
          obj('cat', [1, 1, 5, 5]).replace('<name>cat</name>', '<name>cat</name><name>dog</name>'),
      ),
      /a\.xml: object 2: 2 <name> elements \("cat", "dog"\), expected one per <object>/,
    ],
    [
      xml(10, 10, obj('cat', [1, 1, 5, 5]).replace('</object>', '<bndbox><xmin>2</xmin></bndbox></object>')),
      /a\.xml: object 1 \("cat"\): 2 <bndbox> elements, expected one per <object>/,
    ],
    [
      xml(10, 10, obj('cat', [1, 1, 5, 5]).replace('<xmin>1</xmin>', '<xmin>1</xmin><xmin>2</xmin>')),
      /a\.xml: object 1: <bndbox\/xmin> appears 2 times, expected once/,
    ],
  ];
  for (const [text, re] of cases) {
    const root = await vocDir({ a: text }, ['a']);
    try {
      await assert.rejects(readVocDataset({ root, split: 'trainval', classes: ['cat', 'dog'] }), re);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  const dup = await vocDir({ a: xml(10, 10, ''), b: xml(10, 10, '') }, ['a', 'b', ' a']);
  try {
    await assert.rejects(
      readVocDataset({ root: dup, split: 'trainval', classes: ['cat'] }),
      /trainval\.txt: line 3 lists "a" again \(first on line 1\); each image must be listed once/,
    );
  } finally {
    await rm(dup, { recursive: true, force: true });
  }
  const root = await vocDir({ a: xml(10, 10, '') }, ['a', 'b']);
  try {
    await assert.rejects(
      readVocDataset({ root, split: 'trainval', classes: ['cat'] }),
      /VOC annotation .*b\.xml \(listed in .*trainval\.txt\) could not be read/,
    );
    await assert.rejects(
      readVocDataset({ root, split: 'test' }),
      /VOC split list .*test\.txt could not be read/,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

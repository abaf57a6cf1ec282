/**
 * The malformed-input corpus (test/fixtures/bad/): each case is a file (or a file among valid ones) and the
 * message the command must give for it. Every case is refused with an error naming the file or field and what is
 * wrong, and `train --config` writes nothing (its run folder is never created).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as dataCommand } from '../../src/cli/data.js';
import { run as evalCommand } from '../../src/cli/eval.js';
import { run as trainCommand } from '../../src/cli/train.js';

const BAD = join('test', 'fixtures', 'bad');
const EVAL = join(BAD, 'eval');
const COCO = join(BAD, 'coco');
const VOC = join(BAD, 'voc');
const CONFIG = join(BAD, 'config');

type Command = (argv: readonly string[]) => Promise<number>;
interface Case {
  command: Command;
  argv: string[];
  message: RegExp;
}

const evalCase = (gt: string, dt: string, message: RegExp): Case => ({
  command: evalCommand,
  argv: ['--gt', join(EVAL, gt), '--dt', join(EVAL, dt)],
  message,
});
const cocoCase = (file: string, message: RegExp): Case => ({
  command: dataCommand,
  argv: ['check', '--coco', join(COCO, file), '--images', join(COCO, 'images')],
  message,
});
const vocCase = (split: string, message: RegExp): Case => ({
  command: dataCommand,
  argv: ['check', '--voc', VOC, '--split', split],
  message,
});
const configCase = (file: string, message: RegExp): Case => ({
  command: trainCommand,
  argv: ['--config', join(CONFIG, file)],
  message,
});

const CASES: Case[] = [
  // eval
  evalCase(
    'gt.json',
    'dt-other-split.json',
    /^Results do not correspond to current coco set: 2 of 2 detections have an image_id that is not in the ground truth \(2 images\): 101, 102; check that the detections were made on the same split/,
  ),
  evalCase(
    'gt-duplicate-annotation-ids.json',
    'dt.json',
    /^gt\.annotations\[2\]\.id: 2 repeats gt\.annotations\[1\]\.id; pycocotools keys annotations by id/,
  ),
  evalCase(
    'gt.json',
    'dt-negative-width.json',
    /^dets\[1\]\.bbox: expected width and height >= 0 \(xywh\), got "\[30, 30, -20, 20\]"; is the box xyxy instead of xywh\?/,
  ),
  evalCase('gt.json', 'dt-missing-score.json', /^dets\[0\]\.score: expected a finite number, got undefined/),
  evalCase('gt.json', 'dt-not-json.json', /^detections file .*dt-not-json\.json is not valid JSON/),
  // data check --coco
  cocoCase(
    'bad-images.json',
    new RegExp(
      '^5 of 6 image files are bad; training would fail on them:\\n' +
        '  .*empty\\.png \\(image id 2\\): it is empty \\(0 bytes\\)\\n' +
        '  .*garbage\\.png \\(image id 3\\): its header does not decode \\(.*\\); .*\\n' +
        '  .*cut\\.png \\(image id 4\\): it does not decode \\(.*\\); the png file is cut or damaged\\n' +
        '  .*cut\\.jpg \\(image id 5\\): (it|its header) does not decode \\(.*premature end of JPEG image.*\\); .*\\n' +
        '  .*missing\\.png \\(image id 6\\): it does not exist$',
    ),
  ),
  cocoCase(
    'wrong-size.json',
    /^1 of 1 image files are bad.*\n {2}.*ok\.png \(image id 1\): it is 32x24 pixels but the annotations say 64x24/,
  ),
  cocoCase('duplicate-image-id.json', /^duplicate-image-id\.json: images\[1\]: duplicate image id 1/),
  cocoCase('duplicate-annotation-id.json', /annotations\[1\]: duplicate annotation id 1/),
  cocoCase('unknown-category.json', /annotation id 1 \(image id 1\): category_id 7 is not in "categories"/),
  cocoCase('not-json.json', /^COCO annotation file .*not-json\.json is not valid JSON/),
  // data check --voc
  vocCase('duplicate-line', /duplicate-line\.txt: line 3 lists "ok" again \(first on line 1\)/),
  vocCase(
    'two-names',
    /twonames\.xml: object 1: 2 <name> elements \("cat", "dog"\), expected one per <object>/,
  ),
  vocCase('two-boxes', /twoboxes\.xml: object 1 \("cat"\): 2 <bndbox> elements, expected one per <object>/),
  vocCase(
    'cut-image',
    /^1 of 2 image files are bad; training would fail on them:\n {2}.*cut\.jpg \(image id 2\): it does not decode/,
  ),
  // train --config
  configCase(
    'head-stacked-convs-snake-case.json',
    /invalid config:\n {2}model\.head\.stacked_convs: unknown key; did you mean `stackedConvs`\?$/,
  ),
  configCase(
    'model-num-classes-snake-case.json',
    /model\.num_classes: unknown key; did you mean `numClasses`\?$/,
  ),
  configCase(
    'head-unknown-key.json',
    /model\.head\.foo: unknown key; known keys: stackedConvs, featChannels/,
  ),
  configCase('backbone-depth.json', /model\.backbone\.depth: unknown key; known keys: type, stemChannels/),
  configCase('shapes-option-typo.json', /data\.shapes\.trian: unknown key; did you mean `train`\?$/),
  configCase('ghmc-bins-0.json', /model\.head\.loss_cls\.bins: Too small: expected number to be >=1, got 0$/),
  configCase(
    'ghmc-momentum-1.5.json',
    /model\.head\.loss_cls\.momentum: Too big: expected number to be <1, got 1\.5$/,
  ),
  configCase(
    'negative-loss-weight.json',
    /model\.head\.loss_bbox\.loss_weight: Too small: expected number to be >=0, got -10$/,
  ),
  configCase(
    'epochs-and-iterations.json',
    /train\.max_iters: give exactly one of total_epochs and max_iters/,
  ),
  configCase('not-json.json', /^config file .*not-json\.json is not valid JSON/),
];

test('malformed inputs: every case of the corpus gives its message; train --config writes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-bad-'));
  const origLog = console.log;
  const origErr = process.stderr.write.bind(process.stderr);
  console.log = () => {};
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    for (const [i, c] of CASES.entries()) {
      const out = join(dir, `run-${i}`);
      const argv = c.command === trainCommand ? [...c.argv, '--out', out] : c.argv;
      await assert.rejects(
        c.command(argv),
        (err: Error) => {
          assert.match(err.message, c.message, `${argv.join(' ')}`);
          return true;
        },
        argv.join(' '),
      );
      assert.equal(existsSync(out), false, `${argv.join(' ')} created its run folder`);
    }
  } finally {
    console.log = origLog;
    process.stderr.write = origErr;
    await rm(dir, { recursive: true, force: true });
  }
});

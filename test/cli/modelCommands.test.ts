/**
 * The commands around model directories: their usage errors (exit 2), their failures (exit 1) with the reason,
 * and `predict --model` reporting the model's own category ids (test/docs/scaling.test.ts runs the successful
 * paths of import, export-config, eval --model and train --init).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCli } from '../../src/cli/program.js';

const MMDET = join('test', 'fixtures', 'parity', 'mmdet_retinanet', 'model');

async function cli(...argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await runCli(argv, { out: () => {}, err: (t) => void (err += t) });
    return { code, err };
  } finally {
    process.stderr.write = write;
  }
}

test('model-directory commands: usage errors exit 2, refusals exit 1, each with its reason', async () => {
  let r = await cli('predict', '--images', 'x');
  assert.equal(r.code, 2);
  assert.match(r.err, /^ghmdet predict: give --run DIR or --model DIR$/m);
  r = await cli('predict', '--run', 'a', '--model', 'b', '--images', 'x');
  assert.equal(r.code, 2);
  r = await cli('eval', '--model', MMDET, '--gt', 'gt.json');
  assert.equal(r.code, 2);
  assert.match(r.err, /--model DIR needs --gt FILE and --images DIR/);
  r = await cli('eval', '--gt', 'gt.json', '--dt', 'dt.json', '--images', 'imgs');
  assert.equal(r.code, 2);
  assert.match(r.err, /--images DIR goes with --model DIR/);
  r = await cli('train', '--init', MMDET, '--resume', '--out', 'runs/x');
  assert.equal(r.code, 2);
  assert.match(r.err, /--init DIR starts a new run from a config: give --config FILE/);
  r = await cli('import', 'model.pth', '--arch', 'yolo', '--out', 'm');
  assert.equal(r.code, 2);
  assert.match(r.err, /Allowed choices are torchvision_retinanet_v1/);
  r = await cli('import', 'no/such.pth', '--arch', 'mmdet_retinanet', '--out', 'm');
  assert.equal(r.code, 1);
  assert.match(r.err, /^ghmdet import: checkpoint no\/such\.pth does not exist or is not a file$/m);
  r = await cli('export-config', '--to', 'mmdet', 'configs/shapes_ghmc_ghmr.json');
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    /^ghmdet export-config: mmdetection config: the backbone .* is not one of mmdetection's ResNets/m,
  );
  r = await cli('predict', '--model', 'test/fixtures/parity', '--images', 'test/fixtures/parity');
  assert.equal(r.code, 1);
});

test('predict --model: COCO results with the model directory categories', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-predict-model-'));
  try {
    const pixels = Buffer.from(new Uint8Array(48 * 64 * 3).map((_, i) => (i * 2654435761) >>> 24));
    await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } })
      .png()
      .toFile(join(dir, '000007.png'));
    const out = join(dir, 'results.json');
    const r = await cli('predict', '--model', MMDET, '--images', dir, '--out', out, '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    const dets = JSON.parse(await readFile(out, 'utf8')) as { image_id: number; category_id: number }[];
    assert.ok(dets.length > 0);
    for (const d of dets) {
      assert.equal(d.image_id, 7);
      // The fixture's mmdetection checkpoint names its classes class0..class4: ids 1..5.
      assert.ok(d.category_id >= 1 && d.category_id <= 5);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

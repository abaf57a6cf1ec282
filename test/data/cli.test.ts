import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNoiseSpec, run } from '../../src/cli/data.js';

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  try {
    return { code: await fn(), out };
  } finally {
    console.log = log;
  }
}

test('data shapes / data check: write a tiny noisy dataset, then read it back with its counts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-cli-data-'));
  try {
    const made = await capture(() =>
      run([
        'shapes',
        '--out',
        dir,
        '--train',
        '6',
        '--val',
        '2',
        '--size',
        '32',
        '--seed',
        '2',
        '--noise',
        'drop=0.2',
      ]),
    );
    assert.equal(made.code, 0);
    assert.match(made.out[0]!, /^shapes: 6 train images \(\d+ boxes\), 2 val images/);
    assert.match(made.out[1]!, /training-split noise: 0 mislabeled, 0 jittered, \d+ dropped of \d+/);
    const info = JSON.parse(await readFile(join(dir, 'annotations', 'instances_train.json'), 'utf8')).info;
    assert.equal(info.ghmdet_shapes.parameters.noise.drop, 0.2);
    const checked = await capture(() =>
      run(['check', '--coco', join(dir, 'annotations', 'instances_val.json'), '--images', join(dir, 'val')]),
    );
    assert.equal(checked.code, 0);
    assert.match(checked.out[0]!, /^dataset: 2 images, \d+ boxes \(0 crowd, 0 difficult\)/);
    assert.equal(checked.out.at(-2), 'no warnings');
    assert.equal(checked.out.at(-1), 'images: 2 checked (decoded in full), all readable');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('data shapes: reuses a dataset of the same parameters, refuses one of others unless --force', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-cli-data-'));
  const tiny = ['--train', '3', '--val', '1', '--size', '32'];
  const marker = join(dir, 'shapes-dataset.json');
  try {
    assert.equal((await capture(() => run(['shapes', '--out', dir, ...tiny, '--seed', '2']))).code, 0);
    const before = await stat(marker);
    const again = await capture(() => run(['shapes', '--out', dir, ...tiny, '--seed', '2']));
    assert.equal(again.code, 0);
    assert.match(again.out[0]!, /already holds this dataset \(same parameters\); reusing it/);
    assert.match(again.out[1]!, /^shapes: 3 train images \(\d+ boxes\), 1 val images/);
    assert.equal((await stat(marker)).mtimeMs, before.mtimeMs, 'reused as it is');

    await assert.rejects(
      run(['shapes', '--out', dir, ...tiny, '--seed', '3', '--size', '48']),
      /holds a shapes dataset made with other parameters \(size: 32 there, 48 here; seed: 2 there, 3 here\); give --force/,
    );
    assert.equal((await stat(marker)).mtimeMs, before.mtimeMs, 'nothing written before the refusal');
    assert.equal(JSON.parse(await readFile(marker, 'utf8')).parameters.seed, 2);

    const forced = await capture(() => run(['shapes', '--out', dir, ...tiny, '--seed', '3', '--force']));
    assert.equal(forced.code, 0);
    assert.equal(JSON.parse(await readFile(marker, 'utf8')).parameters.seed, 3);

    // train/, val/ or annotations/ without the marker: an interrupted generation or another dataset
    await rm(marker);
    await assert.rejects(
      run(['shapes', '--out', dir, ...tiny]),
      /holds train\/, val\/, annotations\/ but no finished shapes dataset .*; give --force/,
    );
    await mkdir(join(dir, 'empty'));
    assert.equal((await capture(() => run(['shapes', '--out', join(dir, 'empty'), ...tiny]))).code, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('data CLI: bad flags are usage errors naming the flag and value', async () => {
  assert.deepEqual(parseNoiseSpec('label=0.1, jitter=0.2'), { label: 0.1, jitter: 0.2 });
  assert.throws(() => parseNoiseSpec('label=1.5'), /Expected label=F,jitter=F,drop=F .* got "label=1\.5"/);
  const usage = (message: RegExp) => ({ name: 'UsageError', message });
  await assert.rejects(run(['shapes']), usage(/required option '--out DIR' not specified/));
  await assert.rejects(
    run(['shapes', '--out', 'x', '--noise', 'drop=0.1', '--noise-label', '0.1']),
    usage(/option '--noise(-label)? [A-Z]+' cannot be used with option '--noise(-label)? [A-Z]+'/),
  );
  await assert.rejects(
    run(['shapes', '--out', 'x', '--noise-jitter', 'a']),
    usage(/option '--noise-jitter FRACTION' argument 'a' is invalid\. Expected a number in \[0, 1\]/),
  );
  await assert.rejects(
    run(['shapes', '--out', 'x', '--classes', 'circle,hexagon']),
    usage(/classes must be distinct names from .* got \[circle, hexagon\]/),
  );
  await assert.rejects(run(['check', '--coco', 'a.json']), usage(/--coco needs --images DIR/));
  await assert.rejects(run(['check', '--coco', 'a.json', '--voc', 'b']), usage(/cannot be used with/));
  await assert.rejects(run(['frobnicate']), usage(/unknown command 'frobnicate'/));
  await assert.rejects(run(['shaeps']), usage(/unknown command 'shaeps' \(did you mean shapes\?\)/));
});

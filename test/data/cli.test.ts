import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
    assert.equal(checked.out.at(-1), 'no warnings');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('data CLI: bad flags are errors naming the flag and value', async () => {
  assert.deepEqual(parseNoiseSpec('label=0.1, jitter=0.2'), { label: 0.1, jitter: 0.2 });
  assert.throws(
    () => parseNoiseSpec('label=1.5'),
    /--noise expects label=F,jitter=F,drop=F .* got "label=1\.5"/,
  );
  await assert.rejects(run(['shapes']), /data shapes: --out DIR is required/);
  await assert.rejects(
    run(['shapes', '--out', 'x', '--noise', 'drop=0.1', '--noise-label', '0.1']),
    /give either --noise or --noise-label, not both/,
  );
  await assert.rejects(
    run(['shapes', '--out', 'x', '--noise-jitter', 'a']),
    /--noise-jitter expects a fraction in \[0, 1\], got "a"/,
  );
  await assert.rejects(run(['check', '--coco', 'a.json']), /--coco needs --images DIR/);
  await assert.rejects(run(['frobnicate']), /unknown subcommand "frobnicate"; expected shapes or check/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/eval.js';
import { loadCocoVectors } from './helpers/cocoVectors.js';

async function captured(argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...xs: unknown[]) => void lines.push(xs.join(' '));
  try {
    const code = await run(argv);
    return { code, out: lines.join('\n') };
  } finally {
    console.log = original;
  }
}

test('ghmdet eval: summary table and --json on a reference vector', async () => {
  const { vector } = loadCocoVectors().find((v) => v.file === 'coco_empty_images_and_categories.json')!;
  const dir = mkdtempSync(join(tmpdir(), 'ghmdet-eval-'));
  try {
    const gt = join(dir, 'gt.json');
    const dt = join(dir, 'dt.json');
    writeFileSync(gt, JSON.stringify(vector.gt));
    writeFileSync(dt, JSON.stringify(vector.dets));

    const table = await captured(['--gt', gt, '--dt', dt]);
    assert.equal(table.code, 0);
    const lines = table.out.split('\n');
    assert.equal(lines.length, 13);
    assert.match(lines[12]!, /^found \d+ of \d+ objects at IoU >= 0.5 /);
    assert.match(
      lines[0]!,
      /^ Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = /,
    );
    assert.ok(lines[0]!.endsWith(vector.expected.stats[0]!.toFixed(3)));

    const json = await captured(['--gt', gt, '--dt', dt, '--json']);
    const parsed = JSON.parse(json.out) as {
      stats: number[];
      per_category: Record<string, number>;
      top_class_right: number;
    };
    assert.ok(parsed.top_class_right >= 0 && parsed.top_class_right <= 1);
    assert.equal(parsed.stats.length, 12);
    parsed.stats.forEach((s, i) => assert.ok(Math.abs(s - vector.expected.stats[i]!) <= 1e-6));
    assert.deepEqual(
      Object.keys(parsed.per_category),
      vector.expected.per_category.map((c) => String(c.category_id)),
    );
    for (const c of vector.expected.per_category) {
      assert.ok(Math.abs(parsed.per_category[String(c.category_id)]! - c['ap']!) <= 1e-6);
    }
    assert.ok(Object.values(parsed.per_category).includes(-1), 'the category without GT reports -1');

    await assert.rejects(captured(['--gt', gt]), {
      name: 'UsageError',
      message: /give --gt FILE and --dt FILE, or --run DIR/,
    });
    await assert.rejects(captured(['--gt', gt, '--dt', dt, '--data', dir]), /--data DIR goes with --run DIR/);
    await assert.rejects(
      captured(['--gt', gt, '--dt', join(dir, 'missing.json')]),
      /cannot read detections file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ghmdet eval: detections of images not in the ground truth are an error; --allow-extra-images ignores them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ghmdet-eval-'));
  try {
    const gt = join(dir, 'gt.json');
    const dt = join(dir, 'dt.json');
    writeFileSync(
      gt,
      JSON.stringify({
        images: [{ id: 1 }],
        categories: [{ id: 1 }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }],
      }),
    );
    const hit = { image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], score: 0.9 };
    writeFileSync(dt, JSON.stringify([hit, { ...hit, image_id: 7 }]));
    await assert.rejects(
      captured(['--gt', gt, '--dt', dt]),
      /Results do not correspond to current coco set: 1 of 2 detections have an image_id that is not in the ground truth \(1 images\): 7; .*--allow-extra-images/,
    );
    const allowed = await captured(['--gt', gt, '--dt', dt, '--json', '--allow-extra-images']);
    assert.equal(allowed.code, 0);
    // one true positive: AP 1 (to the float error of pycocotools' interpolation)
    assert.ok(Math.abs((JSON.parse(allowed.out) as { stats: number[] }).stats[0]! - 1) < 1e-12);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

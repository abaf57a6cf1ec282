import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '../../src/utils/random.js';
import { coverage, makeCanvas } from '../../src/data/raster.js';
import { SHAPE_CLASSES, makeClassShape } from '../../src/data/shapeGeometry.js';
import {
  SHAPES_LOCK_FILE,
  ensureShapesDataset,
  generateShapesDataset,
  resolveShapesOptions,
  shapesSplitPaths,
} from '../../src/data/shapes.js';
import { readCocoDataset } from '../../src/data/coco.js';

const tiny = { train: 5, val: 2, size: 64, seed: 3 };

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ghmdet-shapes-'));
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath, e.name);
      out.set(p.slice(dir.length), await readFile(p));
    }
  }
  return out;
}

test('shapes: the box of every class shape tightly contains its drawn pixels', () => {
  const rng = new Random(11);
  const canvas = makeCanvas(96, 96);
  for (const kind of SHAPE_CLASSES) {
    for (let t = 0; t < 20; t++) {
      const size = rng.uniform(8, 60);
      const cx = rng.uniform(size / 2 + 2, 94 - size / 2);
      const cy = rng.uniform(size / 2 + 2, 94 - size / 2);
      const s = makeClassShape(kind, cx, cy, size, rng);
      const [x1, y1, x2, y2] = s.bboxXyxy;
      const cov = coverage(canvas, s.sdf, s.bboxXyxy);
      const w = cov.x1 - cov.x0;
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (let i = 0; i < cov.y1 - cov.y0; i++) {
        for (let j = 0; j < w; j++) {
          if (cov.alpha[i * w + j]! === 0) continue;
          // Pixel centre; a covered pixel's centre is within 0.5 px of the shape.
          const px = cov.x0 + j + 0.5;
          const py = cov.y0 + i + 0.5;
          minX = Math.min(minX, px);
          maxX = Math.max(maxX, px);
          minY = Math.min(minY, py);
          maxY = Math.max(maxY, py);
        }
      }
      const what = `${kind} size ${size.toFixed(1)} box [${s.bboxXyxy.map((v) => v.toFixed(2))}]`;
      // Contains: no painted pixel centre further than 0.5 px outside the box.
      assert.ok(
        minX >= x1 - 0.5 && minY >= y1 - 0.5 && maxX <= x2 + 0.5 && maxY <= y2 + 0.5,
        `${what} contains`,
      );
      // Tight: every box edge has painted pixel centres within 1 px.
      assert.ok(minX <= x1 + 1 && minY <= y1 + 1 && maxX >= x2 - 1 && maxY >= y2 - 1, `${what} tight`);
    }
  }
});

test('shapes: same seed gives the same bytes; another seed gives other images', async () => {
  const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
  try {
    const sa = await generateShapesDataset(a, tiny);
    await generateShapesDataset(b, tiny);
    await generateShapesDataset(c, { ...tiny, seed: 4 });
    const fa = await filesOf(a);
    const fb = await filesOf(b);
    const fc = await filesOf(c);
    assert.equal(fa.size, 5 + 2 + 2 + 1); // images, two annotation files, marker
    assert.deepEqual([...fa.keys()].sort(), [...fb.keys()].sort());
    for (const [k, v] of fa) assert.ok(v.equals(fb.get(k)!), `${k} differs between two runs with one seed`);
    assert.ok(!fa.get('/train/000001.png')!.equals(fc.get('/train/000001.png')!));
    // The files read back as a valid COCO dataset with the generator's parameters recorded.
    const ds = await readCocoDataset(shapesSplitPaths(a, 'train'));
    assert.equal(ds.images.length, 5);
    assert.equal(ds.warnings.total, 0);
    assert.deepEqual(
      ds.categories.map((x) => x.name),
      ['circle', 'square', 'triangle', 'cross'],
    );
    const n = ds.images.reduce((s, im) => s + im.annotations.length, 0);
    assert.equal(n, sa.train.annotations);
    for (const im of ds.images) {
      assert.ok(im.annotations.length <= 4);
      for (const an of im.annotations) {
        const [x1, y1, x2, y2] = an.bboxXyxy;
        assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 64 && y2 <= 64 && x2 > x1 && y2 > y1);
        assert.ok(an.area > 0 && an.area <= (x2 - x1) * (y2 - y1) + 1);
      }
    }
    const info = ds.info as { ghmdet_shapes: { parameters: unknown } };
    assert.deepEqual(info.ghmdet_shapes.parameters, resolveShapesOptions(tiny));
  } finally {
    for (const d of [a, b, c]) await rm(d, { recursive: true, force: true });
  }
});

test('shapes: annotation noise hits the training split only, in the asked amounts', async () => {
  const [clean, noisy] = [await tempDir(), await tempDir()];
  try {
    const opts = { train: 30, val: 4, size: 48, seed: 5 };
    const sc = await generateShapesDataset(clean, opts);
    const sn = await generateShapesDataset(noisy, { ...opts, noise: { label: 0.2, jitter: 0.1, drop: 0.1 } });
    const n = sc.train.annotations;
    assert.ok(n >= 30);
    assert.deepEqual(sn.noiseCounts, {
      label: Math.round(0.2 * n),
      jitter: Math.round(0.1 * n),
      drop: Math.round(0.1 * n),
      total: n,
    });
    assert.equal(sn.train.annotations, n - Math.round(0.1 * n));
    const read = async (d: string, s: 'train' | 'val') =>
      JSON.parse(await readFile(shapesSplitPaths(d, s).annotationFile, 'utf8')) as {
        annotations: {
          category_id: number;
          bbox: number[];
          noise?: { kind: string; original_category_id?: number };
        }[];
      };
    const tn = await read(noisy, 'train');
    const kinds = tn.annotations.map((a) => a.noise?.kind);
    assert.equal(kinds.filter((k) => k === 'label').length, Math.round(0.2 * n));
    assert.equal(kinds.filter((k) => k === 'jitter').length, Math.round(0.1 * n));
    for (const a of tn.annotations) {
      if (a.noise?.kind === 'label') assert.notEqual(a.category_id, a.noise.original_category_id);
    }
    // Images are the same bytes, the validation split is untouched.
    const vn = await read(noisy, 'val');
    const vc = await read(clean, 'val');
    assert.deepEqual(vn.annotations, vc.annotations);
    assert.ok(vn.annotations.every((a) => a.noise === undefined));
    const img = 'train/000007.png';
    assert.ok((await readFile(join(clean, img))).equals(await readFile(join(noisy, img))));
  } finally {
    for (const d of [clean, noisy]) await rm(d, { recursive: true, force: true });
  }
});

test('ensureShapesDataset: generates when absent, reuses when the parameters match, regenerates when not', async () => {
  const dir = await tempDir();
  try {
    const reasons: string[] = [];
    const note = (reason: string, o: { val: number }) => reasons.push(`${reason} val=${o.val}`);
    const first = await ensureShapesDataset(dir, { ...tiny, val: 1 }, note);
    assert.equal(first.generated, true);
    const again = await ensureShapesDataset(dir, { ...tiny, val: 1 }, note);
    assert.equal(again.generated, false);
    assert.deepEqual({ ...again, generated: true }, first);
    const changed = await ensureShapesDataset(dir, { ...tiny, val: 1, seed: 9 }, note);
    assert.equal(changed.generated, true);
    assert.deepEqual(reasons, ['absent val=1', 'parameters differ val=1']);
    const files = await readdir(join(dir, 'val'));
    assert.deepEqual(files, ['000001.png']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ensureShapesDataset: a folder whose marker matches but whose images are missing is made again', async () => {
  const dir = await tempDir();
  try {
    const reasons: string[] = [];
    const note = (reason: string) => reasons.push(reason);
    const first = await ensureShapesDataset(dir, tiny, note);
    const trainImage = await readFile(join(dir, 'train', '000002.png'));
    // A split's images deleted after the generation (the marker was written last, and still matches).
    await rm(join(dir, 'val'), { recursive: true });
    const regenerated = await ensureShapesDataset(dir, tiny, note);
    assert.equal(regenerated.generated, true);
    assert.deepEqual(await readdir(join(dir, 'val')), ['000001.png', '000002.png']);
    assert.ok((await readFile(join(dir, 'train', '000002.png'))).equals(trainImage), 'the same images again');
    // One training image gone.
    await rm(join(dir, 'train', '000004.png'));
    assert.equal((await ensureShapesDataset(dir, tiny, note)).generated, true);
    assert.equal(existsSync(join(dir, 'train', '000004.png')), true);
    assert.equal((await ensureShapesDataset(dir, tiny, note)).generated, false);
    assert.deepEqual(reasons, ['absent', 'incomplete', 'incomplete']);
    assert.deepEqual({ ...regenerated }, first);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ensureShapesDataset: concurrent calls generate once; a live lock holder is waited for, a dead one taken over', async () => {
  const dir = await tempDir();
  const lock = join(dir, SHAPES_LOCK_FILE);
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    // Two calls at once in one process: one generates, the other waits and finds it.
    const waits: number[] = [];
    const results = await Promise.all([
      ensureShapesDataset(dir, tiny, undefined, (h) => waits.push(h!.pid)),
      ensureShapesDataset(dir, tiny, undefined, (h) => waits.push(h!.pid)),
    ]);
    assert.deepEqual(results.map((r) => r.generated).sort(), [false, true]);
    assert.deepEqual(waits, [process.pid]);
    assert.deepEqual(await readdir(join(dir, 'train')), [
      '000001.png',
      '000002.png',
      '000003.png',
      '000004.png',
      '000005.png',
    ]);
    assert.equal(existsSync(lock), false, 'the lock outlived the generation');

    // A lock naming this process that none of its tasks holds was left by an earlier process with the same pid.
    await writeFile(lock, String(process.pid));
    const reused = await ensureShapesDataset(dir, { ...tiny, seed: 5 }, undefined, () =>
      assert.fail('waited'),
    );
    assert.equal(reused.generated, true);

    // Another live process holds the lock: the call waits; once that process dies, its lock is stale and taken over.
    await writeFile(lock, String(child.pid));
    let waitedFor = 0;
    const pending = ensureShapesDataset(dir, { ...tiny, seed: 4 }, undefined, (h) => {
      waitedFor = h!.pid;
      child.kill();
    });
    const r = await pending;
    assert.equal(waitedFor, child.pid);
    assert.equal(r.generated, true);
    assert.equal(existsSync(lock), false);
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
});

test('shapes: invalid options are errors naming the option', () => {
  assert.throws(() => resolveShapesOptions({ size: 8 }), /size must be an integer >= 16, got 8/);
  assert.throws(
    () => resolveShapesOptions({ classes: ['circle', 'hexagon' as 'circle'] }),
    /classes must be distinct names/,
  );
  assert.throws(() => resolveShapesOptions({ noise: { label: 0.7, drop: 0.5 } }), /exceed 1/);
  assert.throws(
    () => resolveShapesOptions({ minObjects: 3, maxObjects: 2 }),
    /maxObjects must be an integer >= 3/,
  );
});

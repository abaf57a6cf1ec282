import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImageFile, writePng } from '../../src/data/image.js';

test('decodeImageFile: PNG round trip exact, JPEG close, grey and RGBA become RGB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-image-'));
  try {
    const w = 5;
    const h = 3;
    const data = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
    await writePng({ data, width: w, height: h }, join(dir, 'a.png'));
    const png = await decodeImageFile(join(dir, 'a.png'), 'image id 1', { width: 5, height: 3 });
    assert.deepEqual([png.width, png.height], [5, 3]);
    assert.deepEqual(Array.from(png.data), Array.from(data));

    const flat = new Uint8Array(8 * 8 * 3).fill(0).map((_, i) => [200, 100, 50][i % 3]!);
    await sharp(flat, { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(join(dir, 'b.jpg'));
    const jpg = await decodeImageFile(join(dir, 'b.jpg'), 'image id 2');
    assert.equal(jpg.data.length, 8 * 8 * 3);
    assert.ok(jpg.data.every((v, i) => Math.abs(v - flat[i]!) <= 3));

    await sharp(new Uint8Array(4 * 2).fill(90), { raw: { width: 4, height: 2, channels: 1 } })
      .png()
      .toFile(join(dir, 'g.png'));
    const grey = await decodeImageFile(join(dir, 'g.png'), 'image id 3');
    assert.deepEqual(Array.from(grey.data), new Array(4 * 2 * 3).fill(90));

    const rgba = Uint8Array.from([10, 20, 30, 255, 40, 50, 60, 255]);
    await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toFile(join(dir, 'c.png'));
    assert.deepEqual(
      Array.from((await decodeImageFile(join(dir, 'c.png'), 'image id 4')).data),
      [10, 20, 30, 40, 50, 60],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkImageFiles } from '../../src/data/imageCheck.js';
import { DataWarnings } from '../../src/data/warnings.js';
import type { DetectionDataset } from '../../src/data/dataset.js';

test('checkImageFiles: empty, garbage, cut and wrongly sized images are reported by name; cut data needs decode', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ghmdet-imgcheck-'));
  try {
    const raw = Buffer.alloc(64 * 48 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 256;
    const image = sharp(raw, { raw: { width: 64, height: 48, channels: 3 } });
    const png = await image.clone().png().toBuffer();
    const jpg = await image.clone().jpeg().toBuffer();
    const files: [string, Buffer][] = [
      ['ok.png', png],
      ['ok.jpg', jpg],
      ['empty.png', Buffer.alloc(0)],
      ['garbage.jpg', Buffer.from('not an image')],
      ['cut.png', png.subarray(0, png.length >> 1)],
      ['cut.jpg', jpg.subarray(0, jpg.length >> 1)],
    ];
    for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
    const names = [...files.map(([n]) => n), 'missing.png', 'ok.png'];
    const dataset: DetectionDataset = {
      categories: [{ id: 1, name: 'a' }],
      root: dir,
      warnings: new DataWarnings(),
      // the last one records another size
      images: names.map((fileName, i) => ({
        id: i + 1,
        fileName,
        width: i === names.length - 1 ? 32 : 64,
        height: 48,
        annotations: [],
      })),
    };
    const progress: number[] = [];
    const headers = await checkImageFiles(dataset, { onProgress: (done) => progress.push(done) });
    assert.equal(headers.checked, 8);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8]);
    const byFile = (r: typeof headers) =>
      r.problems.map((p) => `${p.file.slice(dir.length + 1)} (${p.where}): ${p.problem}`);
    const h = byFile(headers);
    assert.equal(h.length, 4, h.join('\n'));
    assert.match(h[0]!, /^empty\.png \(image id 3\): it is empty \(0 bytes\)$/);
    assert.match(
      h[1]!,
      /^garbage\.jpg \(image id 4\): its header does not decode \(.*unsupported image format\)/,
    );
    assert.match(h[2]!, /^missing\.png \(image id 7\): it does not exist$/);
    assert.match(h[3]!, /^ok\.png \(image id 8\): it is 64x48 pixels but the annotations say 32x48/);
    const full = byFile(await checkImageFiles(dataset, { decode: true }));
    assert.equal(full.length, 6, full.join('\n'));
    assert.match(
      full[2]!,
      /^cut\.png \(image id 5\): it does not decode \(.*\); the png file is cut or damaged$/,
    );
    assert.match(full[3]!, /^cut\.jpg \(image id 6\): it does not decode \(.*premature end.*\)/i);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

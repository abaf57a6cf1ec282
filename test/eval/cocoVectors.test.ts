import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCoco } from '../../src/eval/cocoEval.js';
import { loadCocoVectors } from './helpers/cocoVectors.js';

const TOLERANCE = 1e-6;
const SLICES = ['ap', 'ap50', 'ap75', 'ap_small', 'ap_medium', 'ap_large', 'ar1', 'ar10', 'ar100'] as const;

for (const { file, vector } of loadCocoVectors()) {
  test(`COCO vector ${file}: stats and per-category slices match pycocotools within ${TOLERANCE}`, () => {
    assert.equal(vector.format, 'coco-bbox-vectors/1');
    const r = evaluateCoco(vector.gt, vector.dets);
    assert.deepEqual([...r.statsNames], vector.expected.stats_names);
    assert.equal(r.stats.length, 12);
    r.stats.forEach((s, i) => {
      const want = vector.expected.stats[i]!;
      assert.ok(
        Math.abs(s - want) <= TOLERANCE,
        `stats[${i}] (${r.statsNames[i]}): got ${s}, expected ${want}`,
      );
    });
    const ids = Object.keys(r.perCategory).map(Number);
    assert.deepEqual(
      ids,
      vector.expected.per_category.map((c) => c.category_id),
    );
    for (const c of vector.expected.per_category) {
      const got = r.perCategory[c.category_id]!;
      for (const key of SLICES) {
        const want = c[key]!;
        assert.ok(
          Math.abs(got[key] - want) <= TOLERANCE,
          `category ${c.category_id} ${key}: got ${got[key]}, expected ${want}`,
        );
      }
    }
  });
}

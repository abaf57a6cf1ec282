import assert from 'node:assert/strict';

/**
 * Compares two results of web/src/lossProbe.ts: GHM bin counts and EMA states exactly (the bins are decided
 * exactly on every backend), loss values and gradients to float32 rounding (1e-5 of the largest magnitude).
 */
export function compareProbe(
  got: Record<string, number[]>,
  want: Record<string, number[]>,
  what: string,
): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: keys`);
  for (const [key, w] of Object.entries(want)) {
    const g = got[key]!;
    assert.equal(g.length, w.length, `${what}: ${key} length`);
    if (key.endsWith('binCounts') || key.endsWith('accSum')) {
      assert.deepEqual(g, w, `${what}: ${key}`);
      continue;
    }
    const scale = Math.max(...w.map(Math.abs), 1e-12);
    const worst = Math.max(...g.map((v, i) => Math.abs(v - w[i]!)));
    assert.ok(worst <= 1e-5 * scale, `${what}: ${key} differs by ${worst} (scale ${scale})`);
  }
}

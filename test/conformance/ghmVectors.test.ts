import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { setupBackend } from '../../src/engine/backend.js';
import {
  decodeTensor,
  listVectorFiles,
  runVectorFile,
  runVectorPath,
  loadVectorFile,
  type VectorFile,
} from '../../src/conformance/ghmVectors.js';
import { GHM_VECTORS_DIR as GHM_DIR } from '../fixtures/paths.js';

test('the ghm reference vectors are in the repository (test/fixtures/ghm)', () => {
  assert.ok(existsSync(GHM_DIR), `missing reference vectors: ${GHM_DIR}`);
  assert.ok(listVectorFiles(GHM_DIR).length > 0, `no vector file in ${GHM_DIR}`);
});

test('decodeTensor: data and b64 for float32, float64, int32 and uint8; size checked', () => {
  const f32 = new Float32Array([1.5, -2, 0.1]);
  const enc = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  assert.deepEqual(
    Array.from(decodeTensor({ dtype: 'float32', shape: [3], b64: enc(f32) }).values),
    Array.from(f32),
  );
  const f64 = new Float64Array([0.1, 1e300]);
  assert.deepEqual(
    Array.from(decodeTensor({ dtype: 'float64', shape: [2], b64: enc(f64) }).values),
    [0.1, 1e300],
  );
  const i32 = new Int32Array([-1, 7, 3]);
  assert.deepEqual(
    Array.from(decodeTensor({ dtype: 'int32', shape: [1, 3], b64: enc(i32) }).values),
    [-1, 7, 3],
  );
  assert.deepEqual(
    Array.from(decodeTensor({ dtype: 'uint8', shape: [2], b64: enc(new Uint8Array([0, 1])) }).values),
    [0, 1],
  );
  assert.deepEqual(Array.from(decodeTensor({ dtype: 'float32', shape: [2], data: [1, 2] }).values), [1, 2]);
  assert.throws(
    () => decodeTensor({ dtype: 'float32', shape: [3], data: [1, 2] }, 'x'),
    /x: holds 2 values, expected 3/,
  );
  assert.throws(
    () => decodeTensor({ dtype: 'int8' as 'int32', shape: [1], data: [1] }, 'x'),
    /x: dtype "int8"/,
  );
});

for (const backend of ['cpu', 'wasm']) {
  test(`every ghm reference vector file passes [${backend}]`, async () => {
    await setupBackend({ backend });
    const files = listVectorFiles(GHM_DIR);
    const before = tf.memory().numTensors;
    const failures: string[] = [];
    const kinds = new Set<string>();
    for (const f of files) {
      const r = runVectorPath(f);
      kinds.add(r.loss);
      if (!r.passed) failures.push(`${r.file}: ${r.failures.join('; ')}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(tf.memory().numTensors, before, 'the runner leaks no tensor');
    for (const k of ['ghmc', 'ghmr', 'sigmoid_focal', 'bce_with_logits', 'smooth_l1', 'asl1']) {
      assert.ok(kinds.has(k), `the reference set covers ${k}`);
    }
  });
}

test('runVectorFile: a perturbed expectation and an unknown loss kind fail with reasons', async () => {
  await setupBackend({ backend: 'cpu' });
  const v = loadVectorFile(join(GHM_DIR, 'ghmc_tiny_int_labels.json'));
  assert.equal(runVectorFile(v).passed, true);
  const bad: VectorFile = JSON.parse(JSON.stringify(v));
  bad.calls[0]!.expected.float32.loss *= 1.001;
  bad.calls[0]!.expected.float32.bin_counts![0]! += 1;
  const r = runVectorFile(bad);
  assert.equal(r.passed, false);
  assert.match(r.failures.join('\n'), /call 1: loss .* vs /);
  assert.match(r.failures.join('\n'), /call 1: bin_counts\[0\] = 5, expected 6/);
  const unknown = runVectorFile({ ...v, loss: 'softmax_ce' });
  assert.equal(unknown.passed, false);
  assert.match(unknown.failures[0]!, /unknown loss kind "softmax_ce"/);
  const form = runVectorFile({ ...v, target_form: 'boxes' });
  assert.match(form.failures[0]!, /ghmc target_form "boxes"/);
});

function runCli(dir: string): { status: number | null; lines: string[] } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'conformance', dir, '--backend', 'cpu'],
    { encoding: 'utf8' },
  );
  return { status: r.status, lines: `${r.stdout}`.trim().split('\n') };
}

test('ghmdet conformance: one line per file, a final count, non-zero exit on failure or an empty folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ghm-vectors-'));
  const empty = mkdtempSync(join(tmpdir(), 'ghm-vectors-empty-'));
  try {
    const good = readFileSync(join(GHM_DIR, 'ghmr_tiny_hand.json'), 'utf8');
    writeFileSync(join(dir, 'a_good.json'), good);
    const corrupted = JSON.parse(good);
    corrupted.calls[0].expected.float32.n_nonempty += 1;
    writeFileSync(join(dir, 'b_corrupted.json'), JSON.stringify(corrupted));
    const both = runCli(dir);
    assert.equal(both.status, 1);
    const fileLines = both.lines.filter((l) => /^(PASS|FAIL) /.test(l));
    assert.equal(fileLines.length, 2);
    assert.match(fileLines[0]!, /^PASS a_good\.json/);
    assert.match(fileLines[1]!, /^FAIL b_corrupted\.json .*n_nonempty/);
    assert.equal(both.lines.at(-1), '1 passed, 1 failed');
    rmSync(join(dir, 'b_corrupted.json'));
    const one = runCli(dir);
    assert.equal(one.status, 0);
    assert.equal(one.lines.at(-1), '1 passed, 0 failed');
    const none = runCli(empty);
    assert.equal(none.status, 1);
    assert.equal(none.lines.at(-1), '0 passed, 0 failed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
});

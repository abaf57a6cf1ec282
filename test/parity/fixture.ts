/**
 * Reading the parity fixture that tools/make_parity_fixture.py writes (test/fixtures/parity/<arch>/), and the
 * comparisons the parity tests share.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export const FIXTURE_ROOT = join('test', 'fixtures', 'parity');
export const DETECTOR_ARCHS = [
  'torchvision_retinanet_v1',
  'torchvision_retinanet_v2',
  'mmdet_retinanet',
] as const;

/** Head outputs must match PyTorch's to this, relative to the tensor's largest magnitude. */
export const HEAD_RTOL = 1e-4;
/** A detection matches when its box has IoU above this with PyTorch's and its score is within SCORE_ATOL. */
export const BOX_IOU = 0.999;
export const SCORE_ATOL = 1e-4;

export interface FixtureDetection {
  /** xyxy in the original image's pixels. */
  box: [number, number, number, number];
  score: number;
  /** Class index. */
  label: number;
}

interface ArraySpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'uint8';
  offset: number;
  bytes: number;
}

export interface FixtureArray {
  shape: number[];
  data: Float32Array | Uint8Array;
}

export interface Fixture {
  arch: string;
  seed: number;
  generator: Record<string, string>;
  image_sizes: [number, number][];
  img_scale: [number, number];
  num_classes: number;
  /** Tensors the exporter converted. */
  converted_tensors: number;
  resized_sizes?: [number, number][];
  feature_sizes: [number, number][];
  detections?: FixtureDetection[][];
  /** PyTorch's detections of each image run alone. */
  detections_single?: FixtureDetection[][];
  arrays: Record<string, FixtureArray>;
  /** The model directory the exporter wrote. */
  modelDir: string;
}

export function readFixture(dir: string): Fixture {
  const json = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Omit<
    Fixture,
    'arrays' | 'modelDir'
  > & {
    arrays: ArraySpec[];
  };
  const bin = readFileSync(join(dir, 'expected.bin'));
  const arrays: Record<string, FixtureArray> = {};
  for (const s of json.arrays) {
    const bytes = bin.subarray(s.offset, s.offset + s.bytes);
    const copy = new Uint8Array(bytes); // aligned copy
    arrays[s.name] = {
      shape: s.shape,
      data: s.dtype === 'uint8' ? copy : new Float32Array(copy.buffer, 0, s.bytes / 4),
    };
  }
  return { ...json, arrays, modelDir: join(dir, 'model') };
}

/** max |a - b| / max |b|: the error relative to the reference tensor's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const areaA = (a[2]! - a[0]!) * (a[3]! - a[1]!);
  const areaB = (b[2]! - b[0]!) * (b[3]! - b[1]!);
  // A zero-area box (a delta clamped to nothing, then clipped) has no IoU: it matches a box with the same
  // corners, to 1e-3 of the box's coordinates.
  if (areaA <= 0 || areaB <= 0) {
    const scale = 1 + Math.max(...a.map(Math.abs), ...b.map(Math.abs));
    return a.every((v, i) => Math.abs(v - b[i]!) <= 1e-3 * scale) ? 1 : 0;
  }
  return inter / (areaA + areaB - inter);
}

/** How a detection list compares with PyTorch's, one-to-one. */
export interface DetectionMatch {
  expected: number;
  got: number;
  matched: number;
  /** The smallest IoU and largest score difference among matched pairs. */
  minIou: number;
  maxScoreDiff: number;
  /** The first unmatched PyTorch detection, for the failure message. */
  firstUnmatched: FixtureDetection | null;
}

/**
 * Matches each PyTorch detection to a ghmdet detection of the same class with IoU > BOX_IOU and score within
 * SCORE_ATOL, each used once (near-equal scores may come in either order).
 */
export function matchDetections(expected: FixtureDetection[], got: FixtureDetection[]): DetectionMatch {
  const used = new Uint8Array(got.length);
  let matched = 0;
  let minIou = 1;
  let maxScoreDiff = 0;
  let firstUnmatched: FixtureDetection | null = null;
  for (const e of expected) {
    let best = -1;
    let bestIou = BOX_IOU;
    for (let j = 0; j < got.length; j++) {
      const g = got[j]!;
      if (used[j] || g.label !== e.label || Math.abs(g.score - e.score) > SCORE_ATOL) continue;
      const v = iou(e.box, g.box);
      if (v > bestIou) {
        bestIou = v;
        best = j;
      }
    }
    if (best < 0) {
      firstUnmatched ??= e;
      continue;
    }
    used[best] = 1;
    matched++;
    minIou = Math.min(minIou, bestIou);
    maxScoreDiff = Math.max(maxScoreDiff, Math.abs(got[best]!.score - e.score));
  }
  return { expected: expected.length, got: got.length, matched, minIou, maxScoreDiff, firstUnmatched };
}

/**
 * A Python 3 with torch, torchvision and numpy: GHMDET_PYTHON when set, else `python3` on the PATH, else the
 * system one (`/usr/bin/python3`, where Debian's python3-torch installs, when a version manager's `python3`
 * comes first on the PATH); or why there is none.
 */
export function torchAvailable(): { ok: true; python: string } | { ok: false; why: string } {
  const env = process.env['GHMDET_PYTHON'];
  const candidates = env !== undefined ? [env] : ['python3', '/usr/bin/python3'];
  const why: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch, torchvision, numpy'], { encoding: 'utf8' });
    if (r.error !== undefined) why.push(`${python} not found`);
    else if (r.status !== 0) why.push(`${python}: ${r.stderr.trim().split('\n').pop()}`);
    else return { ok: true, python };
  }
  return { ok: false, why: `no Python with torch and torchvision (${why.join('; ')})` };
}

/**
 * The Python interpreter for a torch-dependent test, or null after saying clearly (test diagnostic and stderr)
 * that the test did not run; with GHMDET_REQUIRE_TORCH=1 a missing torch fails the test instead.
 */
export function requireTorch(t: TestContext): string | null {
  const r = torchAvailable();
  if (r.ok) return r.python;
  if (process.env['GHMDET_REQUIRE_TORCH'] === '1')
    throw new Error(`PyTorch is required (GHMDET_REQUIRE_TORCH=1) but ${r.why}`);
  const line = `NOT RUN: ${t.name}: ${r.why} (GHMDET_REQUIRE_TORCH=1 makes this a failure)`;
  t.diagnostic(line);
  process.stderr.write(line + '\n');
  return null;
}

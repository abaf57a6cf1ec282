/**
 * Locates and reads the reference COCO vectors: `<repo>/../shared/vectors/coco/*.json`, or
 * `$GHMDET_SHARED_DIR/vectors/coco`. A missing directory is an error, never a skip.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoDetection, CocoGroundTruth } from '../../../src/eval/cocoTypes.js';

export interface CocoVector {
  format: string;
  name: string;
  description: string;
  flags: string[];
  gt: CocoGroundTruth;
  dets: CocoDetection[];
  expected: {
    stats_names: string[];
    stats: number[];
    per_category: ({ category_id: number } & Record<string, number>)[];
  };
}

export function sharedDir(): string {
  const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
  return process.env['GHMDET_SHARED_DIR'] ?? join(repoRoot, '..', 'shared');
}

/** All `coco/*.json` vectors, sorted by file name. Throws when the directory is missing or empty. */
export function loadCocoVectors(): { file: string; vector: CocoVector }[] {
  const dir = join(sharedDir(), 'vectors', 'coco');
  if (!existsSync(dir)) {
    throw new Error(
      `COCO reference vectors not found at ${dir}; set GHMDET_SHARED_DIR to the shared directory`,
    );
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`no COCO reference vectors (*.json) in ${dir}`);
  return files.map((file) => ({
    file,
    vector: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CocoVector,
  }));
}

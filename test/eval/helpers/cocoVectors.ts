/**
 * Reads the reference COCO vectors kept in the repository: `test/fixtures/coco/*.json` (format and origin in
 * test/fixtures/README.md). A missing or empty folder is an error, never a skip.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CocoDetection, CocoGroundTruth } from '../../../src/eval/cocoTypes.js';
import { COCO_VECTORS_DIR } from '../../fixtures/paths.js';

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

/** All `coco/*.json` vectors, sorted by file name. Throws when the folder is missing or empty. */
export function loadCocoVectors(): { file: string; vector: CocoVector }[] {
  const dir = COCO_VECTORS_DIR;
  if (!existsSync(dir)) throw new Error(`COCO reference vectors not found: ${dir} does not exist`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`no COCO reference vectors (*.json) in ${dir}`);
  return files.map((file) => ({
    file,
    vector: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CocoVector,
  }));
}

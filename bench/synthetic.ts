/** Inputs shared by the detector benchmarks. */
import type { ImageGroundTruth } from '../src/detector/targets.js';
import type { Random } from '../src/utils/random.js';

/** 1-4 boxes per image, each side in [minSide, maxSide] px, inside a `size` x `size` image, xyxy. */
export function syntheticTargets(
  batch: number,
  size: number,
  rng: Random,
  numClasses: number,
  [minSide, maxSide]: [number, number],
): ImageGroundTruth[] {
  return Array.from({ length: batch }, () => {
    const n = rng.int(1, 4);
    const boxes = new Float32Array(n * 4);
    const labels = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const w = rng.uniform(minSide, maxSide);
      const h = rng.uniform(minSide, maxSide);
      const x = rng.uniform(0, size - w);
      const y = rng.uniform(0, size - h);
      boxes.set([x, y, x + w, y + h], 4 * j);
      labels[j] = rng.int(0, numClasses - 1);
    }
    return { boxesXyxy: boxes, labels };
  });
}

/** The median of `xs` (the upper one of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Pairwise IoU of axis-aligned boxes in **xyxy** pixel coordinates (x1, y1, x2, y2; x2 >= x1, y2 >= y1),
 * computed in JS on typed arrays: assignment is never differentiated, so it stays off the tape.
 *
 * Widths are `x2 - x1` (mmdetection v2 convention, no `+1`). A box of zero area has IoU 0 with everything,
 * including itself (the union is 0 and the guard returns 0 rather than NaN).
 */

/**
 * IoU matrix between `boxesA` (n boxes) and `boxesB` (m boxes), both flat xyxy arrays of length 4n / 4m.
 *
 * @returns `[n, m]` row-major, values in [0, 1]: `out[i * m + j] = IoU(boxesA[i], boxesB[j])`.
 */
export function iouMatrixXyxy(boxesA: Float32Array, boxesB: Float32Array): Float32Array {
  return overlapMatrix(boxesA, boxesB, 'iou');
}

/**
 * Intersection over the area of the `boxesB` box (mmdetection's `mode='iof'`, "intersection over foreground"),
 * used to find anchors (`boxesB`) that lie mostly inside a crowd region (`boxesA`).
 *
 * @returns `[n, m]` row-major, values in [0, 1].
 */
export function iofMatrixXyxy(boxesA: Float32Array, boxesB: Float32Array): Float32Array {
  return overlapMatrix(boxesA, boxesB, 'iof');
}

function overlapMatrix(boxesA: Float32Array, boxesB: Float32Array, mode: 'iou' | 'iof'): Float32Array {
  if (boxesA.length % 4 !== 0)
    throw new Error(`boxesA has length ${boxesA.length}, expected a multiple of 4 (xyxy)`);
  if (boxesB.length % 4 !== 0)
    throw new Error(`boxesB has length ${boxesB.length}, expected a multiple of 4 (xyxy)`);
  const n = boxesA.length / 4;
  const m = boxesB.length / 4;
  const out = new Float32Array(n * m);
  const areaB = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    areaB[j] =
      Math.max(0, boxesB[4 * j + 2]! - boxesB[4 * j]!) * Math.max(0, boxesB[4 * j + 3]! - boxesB[4 * j + 1]!);
  }
  for (let i = 0; i < n; i++) {
    const ax1 = boxesA[4 * i]!;
    const ay1 = boxesA[4 * i + 1]!;
    const ax2 = boxesA[4 * i + 2]!;
    const ay2 = boxesA[4 * i + 3]!;
    const areaA = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1);
    const row = i * m;
    for (let j = 0; j < m; j++) {
      const iw = Math.min(ax2, boxesB[4 * j + 2]!) - Math.max(ax1, boxesB[4 * j]!);
      if (iw <= 0) continue;
      const ih = Math.min(ay2, boxesB[4 * j + 3]!) - Math.max(ay1, boxesB[4 * j + 1]!);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const denom = mode === 'iou' ? areaA + areaB[j]! - inter : areaB[j]!;
      out[row + j] = denom > 0 ? inter / denom : 0;
    }
  }
  return out;
}

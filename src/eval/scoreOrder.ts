/**
 * A stable sort of detection indices by descending score, without a comparator callback: numpy's
 * `np.argsort(-scores, kind='mergesort')` semantics (equal scores keep their current relative order).
 * A natural merge sort: the input is cut into maximal non-increasing runs and adjacent runs are merged
 * pairwise, so the concatenation of per-image sorted lists that COCO accumulation sorts costs
 * O(N log(number of images)).
 */

/**
 * Sorts `order[0..n)` in place by descending `score[order[i]]`, stably. `tmp` is scratch of length >= n.
 * @param score any finite numbers (NaN is not supported)
 */
export function stableSortByScoreDescending(
  order: Int32Array,
  n: number,
  score: Float64Array,
  tmp: Int32Array,
): void {
  if (n < 2) return;
  let bounds: number[] = [0];
  for (let i = 1; i < n; i++) if (score[order[i]] > score[order[i - 1]]) bounds.push(i);
  bounds.push(n);
  let src = order;
  let dst = tmp;
  while (bounds.length > 2) {
    const next: number[] = [0];
    for (let r = 0; r + 1 < bounds.length; r += 2) {
      const lo = bounds[r];
      const mid = bounds[r + 1];
      const hi = r + 2 < bounds.length ? bounds[r + 2] : mid;
      let i = lo;
      let j = mid;
      let o = lo;
      // Take from the right run only when strictly higher: ties keep the left (earlier) element first.
      while (i < mid && j < hi) dst[o++] = score[src[j]] > score[src[i]] ? src[j++] : src[i++];
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
      next.push(hi);
    }
    bounds = next;
    const swap = src;
    src = dst;
    dst = swap;
  }
  if (src !== order) order.set(src.subarray(0, n));
}

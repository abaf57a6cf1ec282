/**
 * The value COCO evaluation gives a metric with nothing to measure (pycocotools' -1: no ground truth in the
 * slice, e.g. APl when no object is large). Such a value is absent, never a number to plot or average.
 * (Its own module so the figure specs, which a page builds too, need no file-system code.)
 */
export const ABSENT_METRIC = -1;

/** Whether a metric value is {@link ABSENT_METRIC}. */
export function isAbsentMetric(value: number): boolean {
  return value === ABSENT_METRIC;
}

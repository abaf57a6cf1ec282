/**
 * The IoU of COCO bbox evaluation: pycocotools' `maskUtils.iou(dt, gt, iscrowd)` for boxes (C function `bbIou`),
 * operation for operation so the doubles agree exactly.
 *
 * Boxes are xywh (`[x, y, w, h]`). No "+1" pixel convention: a box covers [x, x + w) x [y, y + h).
 * For a **crowd** GT the union is the detection's own area, so IoU = intersection / detection area: a small
 * detection inside a large crowd region scores 1.
 */

/**
 * Fills `out[d * G + g]` (row-major [D, G], value domain [0, 1]) with the IoU of detection d and GT g.
 * @param dtBox xywh boxes, detection d at `dtBox[(dtOffset + d) * 4 ..]`
 * @param gtBox xywh boxes, GT g at `gtBox[(gtOffset + g) * 4 ..]`
 * @param gtCrowd 1 for a crowd GT at `gtCrowd[gtOffset + g]`
 */
export function boxIouXywh(
  dtBox: Float64Array,
  dtOffset: number,
  D: number,
  gtBox: Float64Array,
  gtCrowd: Uint8Array,
  gtOffset: number,
  G: number,
  out: Float64Array,
): void {
  for (let g = 0; g < G; g++) {
    const go = (gtOffset + g) * 4;
    const gx = gtBox[go];
    const gy = gtBox[go + 1];
    const gw = gtBox[go + 2];
    const gh = gtBox[go + 3];
    const ga = gw * gh;
    const crowd = gtCrowd[gtOffset + g] === 1;
    for (let d = 0; d < D; d++) {
      const o = (dtOffset + d) * 4;
      const dx = dtBox[o];
      const dy = dtBox[o + 1];
      const dw = dtBox[o + 2];
      const dh = dtBox[o + 3];
      out[d * G + g] = 0;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const inter = w * h;
      const da = dw * dh;
      out[d * G + g] = inter / (crowd ? da : da + ga - inter);
    }
  }
}

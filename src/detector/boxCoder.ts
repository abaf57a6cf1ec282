/**
 * Delta box coder with mmdetection v2 semantics (`DeltaXYWHBBoxCoder`, no `+1` in widths).
 *
 * With an anchor (prior) p and a ground-truth box g, both **xyxy** pixels, centres `(px, py)`, sizes `(pw, ph)`:
 *   dx = (gx - px) / pw,  dy = (gy - py) / ph,  dw = log(gw / pw),  dh = log(gh / ph)
 * then normalised: delta = (d - target_means) / target_stds.
 * Decoding inverts this, clamping dw and dh to |log(16 / 1000)| ~= 4.135 (`wh_ratio_clip = 16/1000`) so that
 * `exp` cannot explode, and optionally clips the box to the image.
 *
 * `type: 'torchvision'` is torchvision's `det_utils.BoxCoder(weights)` (imported models): the same transform
 * with `target_stds` = 1 / weights and zero means, but dw and dh are clamped from above only, at
 * `bbox_xform_clip = log(1000 / 16)` (the same magnitude): a very negative dh shrinks the box towards zero height.
 *
 * Runs in JS on typed arrays: encoding builds training targets (never differentiated) and decoding runs on the
 * few thousand candidates left after the per-level top-k.
 */

/** Options of the coder (mmdetection `bbox_coder` vocabulary). */
export interface BoxCoderOptions {
  /** 'DeltaXYWHBBoxCoder' (default, mmdetection) or 'torchvision' (one-sided clamp, see the file comment). */
  type?: 'DeltaXYWHBBoxCoder' | 'torchvision';
  /** Means subtracted from the raw deltas (dx, dy, dw, dh). Default [0, 0, 0, 0]. */
  target_means: [number, number, number, number];
  /** Stds the raw deltas are divided by. Default [1, 1, 1, 1] (RetinaNet). */
  target_stds: [number, number, number, number];
}

export const DEFAULT_BOX_CODER: BoxCoderOptions = { target_means: [0, 0, 0, 0], target_stds: [1, 1, 1, 1] };

/** Maximum |dw|, |dh| after de-normalisation: |log(16 / 1000)|. */
export const MAX_LOG_RATIO = Math.abs(Math.log(16 / 1000));

/**
 * Encodes `gtXyxy` relative to `anchorsXyxy` (same count n, flat `[n * 4]`).
 *
 * @returns deltas `[n * 4]` (dx, dy, dw, dh), normalised by means/stds.
 */
export function encodeBoxes(
  anchorsXyxy: Float32Array,
  gtXyxy: Float32Array,
  opts: BoxCoderOptions = DEFAULT_BOX_CODER,
): Float32Array {
  if (anchorsXyxy.length !== gtXyxy.length || anchorsXyxy.length % 4 !== 0) {
    throw new Error(
      `encodeBoxes: anchorsXyxy has length ${anchorsXyxy.length} and gtXyxy ${gtXyxy.length}; ` +
        `expected equal multiples of 4`,
    );
  }
  const [m0, m1, m2, m3] = opts.target_means;
  const [s0, s1, s2, s3] = opts.target_stds;
  const out = new Float32Array(anchorsXyxy.length);
  for (let i = 0; i < anchorsXyxy.length; i += 4) {
    const pw = anchorsXyxy[i + 2]! - anchorsXyxy[i]!;
    const ph = anchorsXyxy[i + 3]! - anchorsXyxy[i + 1]!;
    const px = anchorsXyxy[i]! + 0.5 * pw;
    const py = anchorsXyxy[i + 1]! + 0.5 * ph;
    const gw = gtXyxy[i + 2]! - gtXyxy[i]!;
    const gh = gtXyxy[i + 3]! - gtXyxy[i + 1]!;
    const gx = gtXyxy[i]! + 0.5 * gw;
    const gy = gtXyxy[i + 1]! + 0.5 * gh;
    out[i] = ((gx - px) / pw - m0) / s0;
    out[i + 1] = ((gy - py) / ph - m1) / s1;
    out[i + 2] = (Math.log(gw / pw) - m2) / s2;
    out[i + 3] = (Math.log(gh / ph) - m3) / s3;
  }
  return out;
}

/**
 * Decodes `deltas` (flat `[n * 4]`, normalised) against `anchorsXyxy` (flat `[n * 4]`).
 *
 * @param maxShape `[height, width]` to clip the boxes to (x in [0, width], y in [0, height]); no clipping if omitted.
 * @returns xyxy boxes `[n * 4]`.
 */
export function decodeBoxes(
  anchorsXyxy: Float32Array,
  deltas: Float32Array,
  opts: BoxCoderOptions = DEFAULT_BOX_CODER,
  maxShape?: [number, number],
): Float32Array {
  if (anchorsXyxy.length !== deltas.length || deltas.length % 4 !== 0) {
    throw new Error(
      `decodeBoxes: anchorsXyxy has length ${anchorsXyxy.length} and deltas ${deltas.length}; ` +
        `expected equal multiples of 4`,
    );
  }
  const [m0, m1, m2, m3] = opts.target_means;
  const [s0, s1, s2, s3] = opts.target_stds;
  const minLogRatio = opts.type === 'torchvision' ? -Infinity : -MAX_LOG_RATIO;
  const out = new Float32Array(deltas.length);
  for (let i = 0; i < deltas.length; i += 4) {
    const pw = anchorsXyxy[i + 2]! - anchorsXyxy[i]!;
    const ph = anchorsXyxy[i + 3]! - anchorsXyxy[i + 1]!;
    const px = anchorsXyxy[i]! + 0.5 * pw;
    const py = anchorsXyxy[i + 1]! + 0.5 * ph;
    const dx = deltas[i]! * s0 + m0;
    const dy = deltas[i + 1]! * s1 + m1;
    const dw = clamp(deltas[i + 2]! * s2 + m2, minLogRatio, MAX_LOG_RATIO);
    const dh = clamp(deltas[i + 3]! * s3 + m3, minLogRatio, MAX_LOG_RATIO);
    const gx = px + pw * dx;
    const gy = py + ph * dy;
    const gw = pw * Math.exp(dw);
    const gh = ph * Math.exp(dh);
    out[i] = gx - 0.5 * gw;
    out[i + 1] = gy - 0.5 * gh;
    out[i + 2] = gx + 0.5 * gw;
    out[i + 3] = gy + 0.5 * gh;
  }
  if (maxShape !== undefined) clipBoxesXyxy(out, maxShape);
  return out;
}

/** Clips xyxy boxes in place to x in [0, width], y in [0, height]; `maxShape` is `[height, width]`. */
export function clipBoxesXyxy(boxesXyxy: Float32Array, maxShape: [number, number]): Float32Array {
  const [h, w] = maxShape;
  for (let i = 0; i < boxesXyxy.length; i += 4) {
    boxesXyxy[i] = clamp(boxesXyxy[i]!, 0, w);
    boxesXyxy[i + 1] = clamp(boxesXyxy[i + 1]!, 0, h);
    boxesXyxy[i + 2] = clamp(boxesXyxy[i + 2]!, 0, w);
    boxesXyxy[i + 3] = clamp(boxesXyxy[i + 3]!, 0, h);
  }
  return boxesXyxy;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

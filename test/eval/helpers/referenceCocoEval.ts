/**
 * A line-by-line port of pycocotools' `COCOeval` (bbox, v2.0.11: `loadRes`, `_prepare`, `computeIoU`,
 * `evaluateImg`, `accumulate`, `_summarize`), with plain objects and arrays and no shortcuts. It is slow on
 * purpose: it is the yardstick the fast evaluator in src/eval is compared with on random problems.
 */
import { AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, RECALL_THRESHOLDS } from '../../../src/eval/cocoParams.js';
import type { CocoDetection, CocoGroundTruth } from '../../../src/eval/cocoTypes.js';

interface Gt {
  id: number;
  bbox: number[];
  area: number;
  iscrowd: number;
  ignore: number;
  _ignore?: number;
}
interface Dt {
  id: number;
  bbox: number[];
  area: number;
  score: number;
}
interface EvalImg {
  dtScores: number[];
  dtMatches: number[][]; // [T][D] matched gt id or 0
  dtIgnore: boolean[][]; // [T][D]
  gtIgnore: number[];
}

function stableArgsort(values: number[]): number[] {
  return values.map((_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
}

/** `maskUtils.iou(d, g, iscrowd)` for xywh boxes: [D][G]. */
function iou(d: number[][], g: number[][], iscrowd: number[]): number[][] {
  return d.map((D) =>
    g.map((G, gi) => {
      const w = Math.min(D[2]! + D[0]!, G[2]! + G[0]!) - Math.max(D[0]!, G[0]!);
      if (w <= 0) return 0;
      const h = Math.min(D[3]! + D[1]!, G[3]! + G[1]!) - Math.max(D[1]!, G[1]!);
      if (h <= 0) return 0;
      const i = w * h;
      const da = D[2]! * D[3]!;
      const u = iscrowd[gi] ? da : da + G[2]! * G[3]! - i;
      return i / u;
    }),
  );
}

export interface ReferenceResult {
  precision: Float64Array;
  recall: Float64Array;
  stats: number[];
  catIds: number[];
}

export function referenceCocoEval(gt: CocoGroundTruth, dets: CocoDetection[]): ReferenceResult {
  const imgIds = [...new Set(gt.images.map((i) => i.id))].sort((a, b) => a - b);
  const catIds = [...new Set(gt.categories.map((c) => c.id))].sort((a, b) => a - b);
  // COCO.createIndex / loadRes: annotations and results per image, in file order; result ids are 1-based
  // positions in the result list, result areas are w*h.
  const catSet = new Set(catIds);
  const imgToDets = new Map<number, { catId: number; dt: Dt }[]>();
  const imgToGts = new Map<number, { catId: number; gt: Gt }[]>();
  for (const a of gt.annotations) {
    const crowd = a.iscrowd ? 1 : 0;
    const list = imgToGts.get(a.image_id) ?? [];
    list.push({
      catId: a.category_id,
      gt: { id: a.id, bbox: [...a.bbox], area: a.area, iscrowd: crowd, ignore: crowd },
    });
    imgToGts.set(a.image_id, list);
  }
  dets.forEach((d, idx) => {
    const list = imgToDets.get(d.image_id) ?? [];
    list.push({
      catId: d.category_id,
      dt: { id: idx + 1, bbox: [...d.bbox], area: d.bbox[2] * d.bbox[3], score: d.score },
    });
    imgToDets.set(d.image_id, list);
  });
  // _prepare: group by (image, category), visiting images in sorted id order (getAnnIds order).
  const gts = new Map<string, Gt[]>();
  const dts = new Map<string, Dt[]>();
  const k2 = (i: number, c: number): string => `${i},${c}`;
  for (const imgId of imgIds) {
    for (const { catId, gt: g } of imgToGts.get(imgId) ?? []) {
      if (!catSet.has(catId)) continue;
      const list = gts.get(k2(imgId, catId)) ?? [];
      list.push(g);
      gts.set(k2(imgId, catId), list);
    }
    for (const { catId, dt } of imgToDets.get(imgId) ?? []) {
      if (!catSet.has(catId)) continue;
      const list = dts.get(k2(imgId, catId)) ?? [];
      list.push(dt);
      dts.set(k2(imgId, catId), list);
    }
  }
  const maxDetLast = MAX_DETS[MAX_DETS.length - 1]!;
  const ious = new Map<string, number[][]>();
  for (const imgId of imgIds) {
    for (const catId of catIds) {
      const g = gts.get(k2(imgId, catId)) ?? [];
      let d = dts.get(k2(imgId, catId)) ?? [];
      if (g.length === 0 && d.length === 0) continue;
      d = stableArgsort(d.map((x) => -x.score)).map((i) => d[i]!);
      d = d.slice(0, maxDetLast);
      ious.set(
        k2(imgId, catId),
        d.length === 0 || g.length === 0
          ? []
          : iou(
              d.map((x) => x.bbox),
              g.map((x) => x.bbox),
              g.map((x) => x.iscrowd),
            ),
      );
    }
  }
  const T = IOU_THRESHOLDS.length;
  const evaluateImg = (
    imgId: number,
    catId: number,
    aRng: readonly number[],
    maxDet: number,
  ): EvalImg | null => {
    let g = gts.get(k2(imgId, catId)) ?? [];
    let d = dts.get(k2(imgId, catId)) ?? [];
    if (g.length === 0 && d.length === 0) return null;
    for (const x of g) x._ignore = x.ignore || x.area < aRng[0]! || x.area > aRng[1]! ? 1 : 0;
    const gtind = stableArgsort(g.map((x) => x._ignore!));
    g = gtind.map((i) => g[i]!);
    const dtind = stableArgsort(d.map((x) => -x.score));
    d = dtind.slice(0, maxDet).map((i) => d[i]!);
    const iscrowd = g.map((x) => x.iscrowd);
    const raw = ious.get(k2(imgId, catId))!;
    const M = raw.length > 0 ? raw.map((row) => gtind.map((gi) => row[gi]!)) : raw;
    const gtm = Array.from({ length: T }, () => new Array<number>(g.length).fill(0));
    const dtm = Array.from({ length: T }, () => new Array<number>(d.length).fill(0));
    const gtIg = g.map((x) => x._ignore!);
    const dtIg = Array.from({ length: T }, () => new Array<boolean>(d.length).fill(false));
    if (M.length !== 0) {
      IOU_THRESHOLDS.forEach((t, tind) => {
        d.forEach((dt, dind) => {
          let best = Math.min(t, 1 - 1e-10);
          let m = -1;
          for (let gind = 0; gind < g.length; gind++) {
            if (gtm[tind]![gind]! > 0 && !iscrowd[gind]) continue;
            if (m > -1 && gtIg[m] === 0 && gtIg[gind] === 1) break;
            if (M[dind]![gind]! < best) continue;
            best = M[dind]![gind]!;
            m = gind;
          }
          if (m === -1) return;
          dtIg[tind]![dind] = gtIg[m] === 1;
          dtm[tind]![dind] = g[m]!.id;
          gtm[tind]![m] = dt.id;
        });
      });
    }
    const a = d.map((x) => x.area < aRng[0]! || x.area > aRng[1]!);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < d.length; i++) dtIg[t]![i] = dtIg[t]![i]! || (dtm[t]![i] === 0 && a[i]!);
    }
    return { dtScores: d.map((x) => x.score), dtMatches: dtm, dtIgnore: dtIg, gtIgnore: gtIg };
  };
  const evalImgs: (EvalImg | null)[] = [];
  for (const catId of catIds)
    for (const aRng of AREA_RANGES)
      for (const imgId of imgIds) evalImgs.push(evaluateImg(imgId, catId, aRng, maxDetLast));

  // accumulate
  const R = RECALL_THRESHOLDS.length;
  const K = catIds.length;
  const A = AREA_RANGES.length;
  const Mn = MAX_DETS.length;
  const precision = new Float64Array(T * R * K * A * Mn).fill(-1);
  const recall = new Float64Array(T * K * A * Mn).fill(-1);
  const I0 = imgIds.length;
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      for (let m = 0; m < Mn; m++) {
        const maxDet = MAX_DETS[m]!;
        const E = imgIds.map((_, i) => evalImgs[k * A * I0 + a * I0 + i]!).filter((e) => e !== null);
        if (E.length === 0) continue;
        const dtScores = E.flatMap((e) => e.dtScores.slice(0, maxDet));
        const inds = stableArgsort(dtScores.map((s) => -s));
        const gtIg = E.flatMap((e) => e.gtIgnore);
        const npig = gtIg.filter((x) => x === 0).length;
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          const dtm = E.flatMap((e) => e.dtMatches[t]!.slice(0, maxDet));
          const dtIg = E.flatMap((e) => e.dtIgnore[t]!.slice(0, maxDet));
          const tps = inds.map((i) => dtm[i] !== 0 && !dtIg[i]);
          const fps = inds.map((i) => dtm[i] === 0 && !dtIg[i]);
          let tpSum = 0;
          let fpSum = 0;
          const rc: number[] = [];
          const pr: number[] = [];
          for (let i = 0; i < tps.length; i++) {
            tpSum += tps[i] ? 1 : 0;
            fpSum += fps[i] ? 1 : 0;
            rc.push(tpSum / npig);
            pr.push(tpSum / (fpSum + tpSum + 2.220446049250313e-16));
          }
          const nd = tps.length;
          recall[((t * K + k) * A + a) * Mn + m] = nd ? rc[nd - 1]! : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
          const q = new Array<number>(R).fill(0);
          for (let ri = 0; ri < R; ri++) {
            // np.searchsorted(rc, thr, side='left') by binary search
            let lo = 0;
            let hi = nd;
            while (lo < hi) {
              const mid = (lo + hi) >> 1;
              if (rc[mid]! < RECALL_THRESHOLDS[ri]!) lo = mid + 1;
              else hi = mid;
            }
            if (lo >= nd) break;
            q[ri] = pr[lo]!;
          }
          for (let ri = 0; ri < R; ri++) precision[(((t * R + ri) * K + k) * A + a) * Mn + m] = q[ri]!;
        }
      }
    }
  }
  // _summarize
  const areaIndex = { all: 0, small: 1, medium: 2, large: 3 };
  const summarize = (
    ap: boolean,
    iouThr: number | null,
    area: keyof typeof areaIndex,
    maxDets: number,
  ): number => {
    const a = areaIndex[area];
    const m = MAX_DETS.indexOf(maxDets);
    const vals: number[] = [];
    for (let t = 0; t < T; t++) {
      if (iouThr !== null && IOU_THRESHOLDS[t] !== iouThr) continue;
      for (let k = 0; k < K; k++) {
        if (ap) for (let r = 0; r < R; r++) vals.push(precision[(((t * R + r) * K + k) * A + a) * Mn + m]!);
        else vals.push(recall[((t * K + k) * A + a) * Mn + m]!);
      }
    }
    const defined = vals.filter((v) => v > -1);
    return defined.length === 0 ? -1 : defined.reduce((x, y) => x + y, 0) / defined.length;
  };
  const stats = [
    summarize(true, null, 'all', 100),
    summarize(true, 0.5, 'all', 100),
    summarize(true, 0.75, 'all', 100),
    summarize(true, null, 'small', 100),
    summarize(true, null, 'medium', 100),
    summarize(true, null, 'large', 100),
    summarize(false, null, 'all', 1),
    summarize(false, null, 'all', 10),
    summarize(false, null, 'all', 100),
    summarize(false, null, 'small', 100),
    summarize(false, null, 'medium', 100),
    summarize(false, null, 'large', 100),
  ];
  return { precision, recall, stats, catIds };
}

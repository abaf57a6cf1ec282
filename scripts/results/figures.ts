/**
 * Renders the figures of the imbalance sweep and the GHM-R study in docs/results.md from the raw results that
 * scripts/results/collect.ts wrote (docs/results/imbalance.json, docs/results/ghmr.json), as SVG files in
 * docs/results/svg/ (Vega-Lite specs rendered by src/analysis/renderSvg.ts). Needs no run folder.
 *
 *   npx tsx scripts/results/figures.ts
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { FIGURE_HEIGHT, FIGURE_WIDTH } from '../../src/analysis/figures.js';
import { renderSvg } from '../../src/analysis/renderSvg.js';
import { readIfPresent } from './json.js';

const SVG_DIR = 'docs/results/svg';

const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', grid: true, gridOpacity: 0.5 },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', labelLimit: 320 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start', subtitleColor: '#555' },
  view: { stroke: null },
  line: { strokeWidth: 2 },
} as const;

/** The losses' colours, as in the report's figures. */
const LOSSES = { ce: 'CE', fl: 'focal loss', ghmc: 'GHM-C' } as const;
const LOSS_SCALE = { domain: ['CE', 'focal loss', 'GHM-C'], range: ['#7f7f7f', '#1f77b4', '#d62728'] };
const IMPL_SCALE = { domain: ['ghmdet', 'PyTorch implementation'], range: ['circle', 'triangle-up'] };

type Row = Record<string, number | string | null>;

/** Characters per subtitle line: a long subtitle on one line would set the figure's width. */
const SUBTITLE_CHARS = 110;

/** `text` broken at spaces into lines of at most `width` characters (a longer word stays whole). */
function wrapLines(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** A figure; `size` null for facets and concatenations, whose parts carry their own sizes. */
function spec(
  title: string,
  subtitle: string,
  rows: Row[],
  body: Record<string, unknown>,
  size: { width: number; height: number } | null = { width: FIGURE_WIDTH, height: FIGURE_HEIGHT },
): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: wrapLines(subtitle, SUBTITLE_CHARS) },
    config: CONFIG,
    data: { values: rows },
    ...(size ?? {}),
    ...body,
  } as unknown as TopLevelSpec;
}

// ---- imbalance sweep --------------------------------------------------------------------------------------------

interface ImbalanceRun {
  size: number;
  loss: keyof typeof LOSSES;
  seed: number;
  finished: boolean;
  AP: number | null;
  curve: { iter: number; AP: number }[];
}

interface ImbalanceResults {
  points: {
    size: number;
    objectsPerImage: [number, number];
    anchorBalance: { negativesPerPositive: number };
  }[];
  ghmdet: ImbalanceRun[];
  oracle: { size: number; loss: keyof typeof LOSSES; seed: number; AP: number }[];
}

function imbalanceFigures(r: ImbalanceResults): Record<string, TopLevelSpec> {
  const ratio = new Map(r.points.map((p) => [p.size, p.anchorBalance.negativesPerPositive]));
  const label = (size: number) => {
    const p = r.points.find((q) => q.size === size)!;
    const [lo, hi] = p.objectsPerImage;
    return `${size} px, ${lo === hi ? lo : `${lo}-${hi}`} object${hi > 1 ? 's' : ''}`;
  };
  const rows: Row[] = [
    ...r.ghmdet
      .filter((x) => x.finished && x.AP !== null)
      .map((x) => ({
        impl: 'ghmdet',
        ratio: ratio.get(x.size)!,
        AP: x.AP,
        loss: LOSSES[x.loss],
        seed: x.seed,
      })),
    ...r.oracle.map((x) => ({
      impl: 'PyTorch implementation',
      ratio: ratio.get(x.size)!,
      AP: x.AP,
      loss: LOSSES[x.loss],
      seed: x.seed,
    })),
  ];
  const x = {
    field: 'ratio',
    type: 'quantitative',
    title: 'negatives per positive anchor (assigner, training set; log scale)',
    scale: { type: 'log', domain: [15, 2000] },
    axis: { values: r.points.map((p) => ratio.get(p.size)), format: '.0f' },
  };
  const ap = spec(
    'COCO AP against the imbalance of negatives to positives',
    'circles and solid lines: ghmdet; triangles and dashed lines: the PyTorch implementation; lines: mean of the ' +
      'seeds run; marks: each seed; ' +
      r.points.map((p) => `${label(p.size)} (${ratio.get(p.size)!.toFixed(0)})`).join(', '),
    rows,
    {
      encoding: {
        x,
        color: { field: 'loss', type: 'nominal', title: 'loss', scale: LOSS_SCALE },
      },
      layer: [
        {
          mark: { type: 'point', filled: true, size: 70, opacity: 0.8 },
          encoding: {
            y: { field: 'AP', type: 'quantitative', title: 'COCO AP (%)' },
            shape: { field: 'impl', type: 'nominal', title: 'implementation', scale: IMPL_SCALE },
          },
        },
        {
          transform: [
            { aggregate: [{ op: 'mean', field: 'AP', as: 'meanAP' }], groupby: ['loss', 'impl', 'ratio'] },
          ],
          mark: { type: 'line' },
          encoding: {
            y: { field: 'meanAP', type: 'quantitative' },
            strokeDash: {
              field: 'impl',
              type: 'nominal',
              legend: null,
              scale: {
                domain: IMPL_SCALE.domain,
                range: [
                  [1, 0],
                  [5, 4],
                ],
              },
            },
          },
        },
      ],
    },
  );
  const curveRows: Row[] = r.ghmdet.flatMap((x) =>
    x.curve.map((c) => ({
      point: label(x.size),
      iter: c.iter,
      AP: c.AP,
      loss: LOSSES[x.loss],
      seed: `seed ${x.seed}`,
    })),
  );
  const curves = spec(
    'Validation AP during training (ghmdet)',
    'every 250 iterations on the first 150 validation images; lr x0.1 at 1100 and 1350',
    curveRows,
    {
      facet: {
        column: { field: 'point', type: 'nominal', title: null, sort: r.points.map((p) => label(p.size)) },
      },
      spec: {
        width: 250,
        height: 260,
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'iter',
            type: 'quantitative',
            title: 'iteration',
            axis: { values: [0, 500, 1000, 1500] },
          },
          y: { field: 'AP', type: 'quantitative', title: 'COCO AP (%)' },
          color: { field: 'loss', type: 'nominal', title: 'loss', scale: LOSS_SCALE },
          strokeDash: { field: 'seed', type: 'nominal', title: null },
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
    null,
  );
  return { 'imbalance-ap': ap, 'imbalance-curves': curves };
}

// ---- GHM-R ------------------------------------------------------------------------------------------------------

interface RegionStats {
  iteration: number | null;
  ghmr: { counts: number[]; weights: number[] };
  fit: { correlation: number[] } | null;
  coordinates: { counts: number[][]; sumNorm: number[][]; sumBaselineNorm: number[][] } | null;
}

interface GhmrRun {
  id: string;
  name: string;
  label: string;
  seed: number;
  finished: boolean;
  AP: number | null;
  apPerIou: Record<string, number | null> | null;
  curve: { iter: number; AP: number }[];
  overTraining?: RegionStats[];
  final?: RegionStats;
}

interface GhmrResults {
  runs: GhmrRun[];
  oracle: { tag: string; like: string; iteration: number; AP: number; final: RegionStats }[];
}

const COORDS = ['dx', 'dy', 'dw', 'dh'];
const SCRATCH_LABELS: Record<string, string> = {
  'scratch-ghmr002': 'GHM-R, mu 0.02',
  'scratch-asl1': 'ASL1, mu 0.02',
  'scratch-sl1': 'smooth L1',
  'scratch-ghmr01': 'GHM-R, mu 0.1',
};
const BOX_SCALE = {
  domain: ['GHM-R, mu 0.02', 'ASL1, mu 0.02', 'smooth L1', 'GHM-R, mu 0.1'],
  range: ['#d62728', '#7f7f7f', '#1f77b4', '#ff9896'],
};

/**
 * Per coordinate group (centre: dx, dy; size: dw, dh), the share of the regression gradient that comes from the
 * coordinates far from their targets (the top GHM-R region, g_r >= 0.9: |d| > 2.06 mu), under the run's own
 * loss: GHM-R sums beta_j g_r, ASL1 sums g_r, smooth L1 its own norm min(|d| / beta, 1); and the share of the
 * coordinates that sit there.
 */
function farShares(s: RegionStats, loss: 'ghmr' | 'asl1' | 'sl1') {
  const c = s.coordinates!;
  const top = s.ghmr.weights.length - 1;
  const rows = loss === 'sl1' ? c.sumBaselineNorm : c.sumNorm;
  const weight = (j: number) => (loss === 'ghmr' ? s.ghmr.weights[j]! : 1);
  const group = (coords: number[]) => {
    let far = 0;
    let all = 0;
    let farCount = 0;
    let count = 0;
    for (const k of coords)
      rows[k]!.forEach((v, j) => {
        all += v * weight(j);
        count += c.counts[k]![j]!;
        if (j === top) {
          far += v * weight(j);
          farCount += c.counts[k]![j]!;
        }
      });
    return { gradient: far / Math.max(all, 1e-30), coordinates: farCount / Math.max(count, 1) };
  };
  return { centre: group([0, 1]), size: group([2, 3]) };
}

function ghmrFigures(r: GhmrResults): Record<string, TopLevelSpec> {
  const scratch = r.runs.filter((x) => x.name.startsWith('scratch-'));
  const fitRows: Row[] = [];
  for (const run of scratch)
    for (const s of run.overTraining ?? [])
      if (s.fit !== null)
        COORDS.forEach((c, i) =>
          fitRows.push({
            impl: 'ghmdet',
            box: SCRATCH_LABELS[run.name]!,
            coordinate: c,
            iter: s.iteration,
            correlation: s.fit!.correlation[i]!,
          }),
        );
  for (const o of r.oracle)
    if (o.final.fit !== null)
      COORDS.forEach((c, i) =>
        fitRows.push({
          impl: 'PyTorch implementation',
          box: SCRATCH_LABELS[o.like]!,
          coordinate: c,
          iter: o.iteration,
          correlation: o.final.fit!.correlation[i]!,
        }),
      );
  const fit = spec(
    'How well the box head follows its targets, from scratch',
    'correlation of predicted and target deltas of the positive anchors; lines: ghmdet, on 8 fixed training ' +
      'images every 100 iterations; triangles: the PyTorch implementation, 256 images',
    fitRows,
    {
      facet: { column: { field: 'coordinate', type: 'nominal', title: null, sort: COORDS } },
      spec: {
        width: 190,
        height: 240,
        encoding: {
          x: {
            field: 'iter',
            type: 'quantitative',
            title: 'iteration',
            axis: { values: [0, 500, 1000, 1500] },
          },
          y: {
            field: 'correlation',
            type: 'quantitative',
            title: 'correlation (predicted, target)',
            scale: { domain: [-0.2, 1] },
          },
          color: { field: 'box', type: 'nominal', title: 'box loss', scale: BOX_SCALE },
        },
        layer: [
          { transform: [{ filter: "datum.impl === 'ghmdet'" }], mark: { type: 'line' } },
          {
            transform: [{ filter: "datum.impl !== 'ghmdet'" }],
            mark: { type: 'point', shape: 'triangle-up', filled: true, size: 90 },
          },
        ],
      },
    },
    null,
  );

  // Where g_r falls, centre offsets against sizes, and the weight of each region: the GHM-R mu 0.02 run.
  const ghmr = scratch.find((x) => x.name === 'scratch-ghmr002');
  const regionRows: Row[] = [];
  const weightRows: Row[] = [];
  const picked = [100, 500, 1500];
  for (const s of ghmr?.overTraining ?? []) {
    if (s.coordinates === null || !picked.includes(s.iteration ?? -1)) continue;
    const c = s.coordinates.counts;
    const centre = c[0]!.map((v, j) => v + c[1]![j]!);
    const size = c[2]!.map((v, j) => v + c[3]![j]!);
    const total = (xs: number[]) =>
      Math.max(
        xs.reduce((a, b) => a + b, 0),
        1,
      );
    centre.forEach((v, j) =>
      regionRows.push({
        iter: `iteration ${s.iteration}`,
        region: (j + 0.5) / 10,
        share: v / total(centre),
        coords: 'centre (dx, dy)',
      }),
    );
    size.forEach((v, j) =>
      regionRows.push({
        iter: `iteration ${s.iteration}`,
        region: (j + 0.5) / 10,
        share: v / total(size),
        coords: 'size (dw, dh)',
      }),
    );
    s.ghmr.weights.forEach((w, j) => {
      if (w > 0) weightRows.push({ iter: `iteration ${s.iteration}`, region: (j + 0.5) / 10, weight: w });
    });
  }
  const iterDomain = picked.map((i) => `iteration ${i}`);
  const regions = spec(
    'GHM-R (mu 0.02) from scratch: where g_r falls and what each region weighs',
    'ghmdet, GHM-C + GHM-R, 8 fixed training images; left: share of the coordinates in each of the 10 regions ' +
      'of g_r = |d| / sqrt(d² + mu²); right: the region weight beta_j = N / (R_j n) (log scale)',
    [
      ...regionRows.map((x) => ({ ...x, panel: 'share' })),
      ...weightRows.map((x) => ({ ...x, panel: 'weight' })),
    ],
    {
      hconcat: [
        {
          width: 300,
          height: 260,
          transform: [{ filter: "datum.panel === 'share'" }],
          mark: { type: 'line', point: true },
          encoding: {
            x: {
              field: 'region',
              type: 'quantitative',
              title: 'g_r (region centre)',
              scale: { domain: [0, 1] },
            },
            y: { field: 'share', type: 'quantitative', title: 'share of the coordinates' },
            color: { field: 'iter', type: 'nominal', title: null, sort: iterDomain },
            strokeDash: { field: 'coords', type: 'nominal', title: null },
          },
        },
        {
          width: 260,
          height: 260,
          transform: [{ filter: "datum.panel === 'weight'" }],
          mark: { type: 'line', point: true },
          encoding: {
            x: {
              field: 'region',
              type: 'quantitative',
              title: 'g_r (region centre)',
              scale: { domain: [0, 1] },
            },
            y: { field: 'weight', type: 'quantitative', title: 'beta_j', scale: { type: 'log' } },
            color: { field: 'iter', type: 'nominal', title: null, sort: iterDomain },
          },
        },
      ],
    },
    null,
  );

  // Where the regression gradient comes from: the coordinates far from their targets, or the nearly right ones.
  const lossOf: Record<string, 'ghmr' | 'asl1' | 'sl1'> = {
    'scratch-ghmr002': 'ghmr',
    'scratch-asl1': 'asl1',
    'scratch-sl1': 'sl1',
  };
  const shareRows: Row[] = [];
  for (const run of scratch) {
    const loss = lossOf[run.name];
    if (loss === undefined) continue; // GHM-R at mu 0.1: the recorded regions are those of mu 0.02
    for (const s of run.overTraining ?? []) {
      if (s.coordinates === null) continue;
      const shares = farShares(s, loss);
      for (const [group, title] of [
        ['centre', 'centre offsets (dx, dy)'],
        ['size', 'sizes (dw, dh)'],
      ] as const) {
        shareRows.push({
          box: SCRATCH_LABELS[run.name]!,
          group: title,
          iter: s.iteration,
          share: shares[group].gradient,
          what: 'gradient',
        });
        if (loss === 'ghmr')
          shareRows.push({
            box: 'coordinates (GHM-R run)',
            group: title,
            iter: s.iteration,
            share: shares[group].coordinates,
            what: 'coordinates',
          });
      }
    }
  }
  const share = spec(
    'Where the regression gradient comes from: coordinates far from their targets',
    "ghmdet, 8 fixed training images; share of each run's regression gradient from the coordinates with " +
      'g_r >= 0.9 (|d| > 0.04), under its own loss; black: the share of the coordinates there (GHM-R run)',
    shareRows,
    {
      facet: { column: { field: 'group', type: 'nominal', title: null } },
      spec: {
        width: 300,
        height: 260,
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'iter',
            type: 'quantitative',
            title: 'iteration',
            axis: { values: [0, 500, 1000, 1500] },
          },
          y: {
            field: 'share',
            type: 'quantitative',
            title: 'share',
            axis: { format: '.0%' },
            scale: { domain: [0, 1] },
          },
          color: {
            field: 'box',
            type: 'nominal',
            title: 'box loss',
            scale: {
              domain: ['GHM-R, mu 0.02', 'ASL1, mu 0.02', 'smooth L1', 'coordinates (GHM-R run)'],
              range: ['#d62728', '#7f7f7f', '#1f77b4', '#000000'],
            },
          },
          strokeDash: {
            field: 'what',
            type: 'nominal',
            legend: null,
            scale: {
              domain: ['gradient', 'coordinates'],
              range: [
                [1, 0],
                [4, 3],
              ],
            },
          },
        },
      },
    },
    null,
  );

  // Fine-tuned: AP at each IoU threshold, mean of the seeds; the base before fine-tuning.
  const ftRows: Row[] = [];
  const labelOf: Record<string, string> = {
    base: 'trained detector (before)',
    'ft-sl1': 'smooth L1',
    'ft-asl1': 'ASL1, mu 0.02',
    'ft-ghmr': 'GHM-R, mu 0.02',
  };
  for (const run of r.runs)
    if (run.finished && run.apPerIou !== null && labelOf[run.name] !== undefined)
      for (const [iou, v] of Object.entries(run.apPerIou))
        if (v !== null) ftRows.push({ arm: labelOf[run.name]!, iou: Number(iou), AP: v, seed: run.seed });
  const finetune = spec(
    'Fine-tuned from a trained detector: AP at each IoU threshold',
    'GHM-C + smooth L1 trained 4500 iterations, then 1000 more with each box loss; mean of two seeds',
    ftRows,
    {
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'iou', type: 'quantitative', title: 'IoU threshold', scale: { domain: [0.5, 0.95] } },
        y: { aggregate: 'mean', field: 'AP', type: 'quantitative', title: 'AP (%)', scale: { type: 'log' } },
        color: {
          field: 'arm',
          type: 'nominal',
          title: null,
          scale: {
            domain: Object.values(labelOf),
            range: ['#000000', '#1f77b4', '#7f7f7f', '#d62728'],
          },
        },
      },
    },
  );
  const base = r.runs.find((x) => x.name === 'base');
  const baseCurve = spec(
    'The trained detector: validation AP over its 4500 iterations',
    'ghmdet, GHM-C + smooth L1, the suite data; lr 0.02, x0.1 at 3300 and 4050',
    (base?.curve ?? []).map((c) => ({ iter: c.iter, AP: c.AP })),
    {
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'iter', type: 'quantitative', title: 'iteration' },
        y: { field: 'AP', type: 'quantitative', title: 'COCO AP (%)' },
      },
    },
  );
  return {
    'ghmr-fit': fit,
    'ghmr-regions': regions,
    'ghmr-far-share': share,
    'ghmr-finetune-iou': finetune,
    'ghmr-base-curve': baseCurve,
  };
}

async function main(): Promise<void> {
  await mkdir(SVG_DIR, { recursive: true });
  const figures: Record<string, TopLevelSpec> = {};
  const imbalance = await readIfPresent<ImbalanceResults>('docs/results/imbalance.json');
  if (imbalance !== null) Object.assign(figures, imbalanceFigures(imbalance));
  const ghmr = await readIfPresent<GhmrResults>('docs/results/ghmr.json');
  if (ghmr !== null) Object.assign(figures, ghmrFigures(ghmr));
  for (const [name, s] of Object.entries(figures)) {
    const path = join(SVG_DIR, `${name}.svg`);
    await writeFile(path, await renderSvg(s));
    console.log(path);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});

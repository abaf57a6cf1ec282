/**
 * Synthetic inputs for the analysis tests: gradient statistics of small literal batches and run folders with
 * the layout of src/analysis/runFiles.ts, written to a temporary directory.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { computeGradientStats, type GradientStats } from '../../src/analysis/gradientStats.js';
import { writeGradientStats } from '../../src/analysis/runFiles.js';

/** Statistics of a 6-anchor x 2-class batch and 2 positives; `shift` moves the logits (later = easier). */
export function smallStats(iteration: number, shift = 0): GradientStats {
  return computeGradientStats(
    {
      classification: {
        logits: [
          [-4 - shift, -3],
          [-3 - shift, 0.5],
          [2 + shift, -6],
          [0 + shift, -1],
          [5, -2 - shift],
          [-1, 8],
        ],
        labels: [
          [0, 0],
          [0, 0],
          [1, 0],
          [1, 0],
          [0, 0],
          [0, 1],
        ],
        labelWeights: [1, 1, 1, 1, 1, 0],
      },
      regression: {
        bboxPred: [
          [0, 0.01, 0.5, -0.2],
          [0.03, 1, 0.002, -0.05],
        ],
        bboxTargets: [
          [0, 0, 0, 0],
          [0, 0, 0, 0],
        ],
        bboxWeights: [
          [1, 1, 1, 1],
          [1, 1, 1, 1],
        ],
      },
    },
    { iteration },
  );
}

/**
 * A log.jsonl body: `train` records every 10 iterations up to `iters`, `val` records at `evalIters`. Like a
 * shapes run, the evaluations hold metrics that COCO reports as absent (-1): `bbox_mAP_l` at every evaluation
 * (no large objects) and `bbox_mAP_s` at every second one.
 */
export function logText(iters: number, evalIters: number[], apScale = 1): string {
  const lines: string[] = [];
  for (let it = 10; it <= iters; it += 10) {
    const f = 1 / (1 + it / 20);
    lines.push(
      JSON.stringify({
        mode: 'train',
        iter: it,
        epoch: 1,
        lr: 0.01,
        loss: 1.5 * f + 0.2,
        loss_cls: f + 0.1,
        loss_bbox: 0.5 * f + 0.1,
        grad_norm: 3,
        images_per_s: 2.2,
        time: it,
      }),
    );
  }
  evalIters.forEach((it, i) =>
    lines.push(
      JSON.stringify({
        mode: 'val',
        iter: it,
        epoch: 1,
        bbox_mAP: apScale * 0.1 * (i + 1),
        bbox_mAP_50: apScale * 0.2 * (i + 1),
        bbox_mAP_s: i % 2 === 1 ? -1 : apScale * 0.05 * (i + 1),
        bbox_mAP_l: -1,
      }),
    ),
  );
  return lines.join('\n') + '\n';
}

/** A fresh temporary directory (removed by the caller with `fs.rm(dir, {recursive: true})`). */
export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), `ghmdet-${prefix}-`));
}

/** Writes a run folder: config.json, log.jsonl, gradient statistics at `statsIters`, optionally eval.json. */
export async function writeRun(
  dir: string,
  opts: {
    config?: unknown;
    iters?: number;
    evalIters?: number[];
    statsIters?: number[];
    apScale?: number;
    /** Also write eval.json (COCO's 12 stats) at the last iteration. */
    finalEval?: boolean;
    /** Also write this many small PNG images into drawn/. */
    drawn?: number;
  } = {},
): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const config = opts.config ?? {
    model: { type: 'RetinaNet', numClasses: 2 },
    loss_cls: { type: 'GHMC', bins: 30, momentum: 0.75, loss_weight: 1 },
    loss_bbox: { type: 'GHMR', mu: 0.02, bins: 10, momentum: 0.7, loss_weight: 10 },
  };
  await fs.writeFile(join(dir, 'config.json'), JSON.stringify(config));
  await fs.writeFile(
    join(dir, 'log.jsonl'),
    logText(opts.iters ?? 100, opts.evalIters ?? [50, 100], opts.apScale),
  );
  if (opts.finalEval) {
    const statsNames = ['AP@[.50:.95]|all|100', 'AP@.50|all|100', 'AP@.75|all|100', 'AP@[.50:.95]|small|100'];
    const stats = [0.3125, 0.5, 0.25, -1];
    await fs.writeFile(
      join(dir, 'eval.json'),
      JSON.stringify({ iter: opts.iters ?? 100, stats, statsNames }),
    );
  }
  for (const [k, it] of (opts.statsIters ?? [20, 100]).entries())
    await writeGradientStats(dir, smallStats(it, k));
  if ((opts.drawn ?? 0) > 0) await fs.mkdir(join(dir, 'drawn'));
  for (let i = 0; i < (opts.drawn ?? 0); i++) {
    const png = await sharp({
      create: { width: 16, height: 12, channels: 3, background: { r: 40 * i, g: 120, b: 200 } },
    })
      .png()
      .toBuffer();
    await fs.writeFile(join(dir, 'drawn', `${String(i + 1).padStart(6, '0')}.png`), png);
  }
  return dir;
}

/**
 * Times the COCO bbox evaluator on a COCO-val sized problem generated from a seed: 5000 images, ~36k GT boxes
 * of mixed sizes (some crowd), 80 categories, 100 detections per image (jittered GT plus false positives,
 * scores rounded to 1e-3 so ties occur). pycocotools 2.0.11 takes ~95 s for evaluate() + accumulate() on such a
 * problem on the project's 2-core machine kind (see test/fixtures/README.md).
 *
 *   npm run bench:eval                        time evaluateCoco (validation + evaluate + accumulate + summarize)
 *   npm run bench:eval -- --reference         also time the direct port of COCOeval and check identical numbers
 *   npm run bench:eval -- --images 500 --json last line {"seconds", "images", "gt", "dets", ...}
 *   npm run bench:eval -- --write DIR         also write DIR/gt.json, DIR/dt.json and DIR/stats.json, e.g. to
 *                                             run pycocotools on the same problem
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { evaluateCoco } from '../src/eval/cocoEval.js';
import { formatSummary } from '../src/eval/cocoSummary.js';
import { parseArgs, intFlag, stringFlag, type FlagSpec } from './args.js';
import { randomCocoProblem } from '../test/eval/helpers/randomCocoProblem.js';
import { referenceCocoEval } from '../test/eval/helpers/referenceCocoEval.js';

const spec: Record<string, FlagSpec> = {
  images: { type: 'string', description: 'number of images (default 5000)' },
  seed: { type: 'string', description: 'generator seed (default 2019)' },
  repeat: {
    type: 'string',
    description: 'timed runs of the fast evaluator; the best is reported (default 3)',
  },
  reference: {
    type: 'boolean',
    description: 'also time the direct port of COCOeval (slow) and compare numbers',
  },
  json: { type: 'boolean', description: 'print a last line of JSON' },
  write: {
    type: 'string',
    description: 'write gt.json, dt.json and stats.json of the problem to this folder',
  },
};

function main(): void {
  const args = parseArgs('bench:eval', process.argv.slice(2), spec);
  const numImages = intFlag('bench:eval', args, 'images', 5000, 1);
  const seed = intFlag('bench:eval', args, 'seed', 2019);
  const repeat = intFlag('bench:eval', args, 'repeat', 3, 1);
  const t0 = performance.now();
  const { gt, dets } = randomCocoProblem({
    seed,
    numImages,
    numCategories: 80,
    gtPerImage: 7.3,
    detsPerImage: 100,
    crowdFraction: 0.01,
    scoreDecimals: 3,
  });
  const numCrowd = gt.annotations.filter((a) => a.iscrowd).length;
  console.log(
    `problem: ${numImages} images, ${gt.annotations.length} GT (${numCrowd} crowd), 80 categories, ` +
      `${dets.length} detections (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  // Wall seconds, and CPU seconds of this process (less inflated than wall time when other work shares the
  // machine; V8's helper threads count too).
  let best = Infinity;
  let bestCpu = Infinity;
  let result = evaluateCoco(gt, dets);
  for (let r = 0; r < repeat; r++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    result = evaluateCoco(gt, dets);
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    best = Math.min(best, seconds);
    bestCpu = Math.min(bestCpu, cpuSeconds);
    console.log(`evaluateCoco run ${r + 1}: ${seconds.toFixed(3)} s wall, ${cpuSeconds.toFixed(3)} s cpu`);
  }
  console.log(formatSummary(result.stats));
  const dir = stringFlag(args, 'write');
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'gt.json'), JSON.stringify(gt));
    writeFileSync(join(dir, 'dt.json'), JSON.stringify(dets));
    writeFileSync(join(dir, 'stats.json'), JSON.stringify({ stats: result.stats, seconds: best }));
    console.log(`wrote ${join(dir, 'gt.json')}, dt.json, stats.json`);
  }
  const report: Record<string, number | boolean> = {
    seconds: best,
    cpu_seconds: bestCpu,
    images: numImages,
    gt: gt.annotations.length,
    dets: dets.length,
  };
  if (args.flags['reference']) {
    const start = performance.now();
    const ref = referenceCocoEval(gt, dets);
    const seconds = (performance.now() - start) / 1000;
    const identical = ref.stats.every((s, i) => s === result.stats[i]);
    console.log(
      `direct port of COCOeval: ${seconds.toFixed(2)} s; fast path ${(seconds / best).toFixed(1)}x faster; ` +
        `stats identical: ${identical}`,
    );
    report['reference_seconds'] = seconds;
    report['identical'] = identical;
  }
  console.log(`evaluateCoco: ${best.toFixed(3)} s (best of ${repeat}); pycocotools reference figure ~95 s`);
  if (args.flags['json']) console.log(JSON.stringify(report));
}

main();

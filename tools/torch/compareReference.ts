/**
 * Compares ghmdet with a PyTorch implementation of the same shapes RetinaNet on one batch, with the same
 * weights in both: the reference's initial weights (converted by `shapesNetWeights.ts`) are loaded into a
 * ghmdet model built from CONFIG, and the batch's targets, backbone and pyramid features, head outputs, the
 * losses of every classification / regression pair, the gradients and the BatchNorm running statistics after
 * one training-mode forward are compared with the dump written by `dump_reference.py`; with a dump made with
 * STEPS, the first training steps; with TRAIN, the validation detections of the reference's trained weights
 * (inference mode, post-processing, COCO scores) against ghmdet's with the same weights.
 *
 *   npx tsx tools/torch/compareReference.ts --dump DIR --data data/shapes600 [--config configs/shapes_ce_sl1.json]
 *                                           [--per-step]
 *
 * Prints one line per compared tensor: the largest absolute difference and that difference relative to the
 * reference's largest magnitude. Not a test: the figures say where two implementations part.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs, stringFlag } from '../../bench/args.js';
import { loadConfigFile } from '../../src/config.js';
import { readCocoDataset } from '../../src/data/coco.js';
import { shapesSplitPaths } from '../../src/data/shapes.js';
import { RetinaNet } from '../../src/detector/retinaNet.js';
import type { ImageGroundTruth } from '../../src/detector/targets.js';
import { setupBackend } from '../../src/engine/backend.js';
import { buildLoss } from '../../src/losses/index.js';
import { trainerUpdate } from '../../src/config.js';
import { DetectionLoader } from '../../src/data/loader.js';
import { DetectorBatches } from '../../src/train/detectorBatches.js';
import { detectorTrainable } from '../../src/train/detectorTrainable.js';
import { train } from '../../src/train/trainer.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectImages, groundTruthOf, loadDatasetImages } from '../../src/train/cocoValidation.js';
import { evaluateCoco } from '../../src/eval/cocoEval.js';
import { foundObjectClass } from '../../src/eval/foundObjectClass.js';
import type { CocoDetection } from '../../src/eval/cocoTypes.js';
import { convertStateDict } from './shapesNetWeights.js';
import { permute, readTensorDump, type DumpedTensor } from './tensorDump.js';

const CLS_LOSSES: Record<string, object> = {
  ce: { type: 'CrossEntropyLoss', use_sigmoid: true },
  fl: { type: 'FocalLoss', alpha: 0.25, gamma: 2 },
  ghmc: { type: 'GHMC', bins: 30, momentum: 0.75 },
};
const BOX_LOSSES: Record<string, object> = {
  sl1: { type: 'SmoothL1Loss', beta: 0.11 },
  ghmr: { type: 'GHMR', mu: 0.02, bins: 10, momentum: 0.7, loss_weight: 10 },
};

function report(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  if (got.length !== want.length) {
    console.log(`${name.padEnd(48)} size ${got.length} vs reference ${want.length}`);
    return;
  }
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  const rel = scale > 0 ? maxAbs / scale : maxAbs;
  console.log(`${name.padEnd(48)} max |diff| ${maxAbs.toExponential(2)}  relative ${rel.toExponential(2)}`);
}

/** NCHW activations to NHWC. */
const nhwc = (t: DumpedTensor): DumpedTensor => permute(t, [0, 2, 3, 1]);

function assignWeights(model: RetinaNet, weights: Map<string, DumpedTensor>): void {
  const vars = model.namedVariables();
  for (const [name, v] of vars) {
    const w = weights.get(name);
    if (w === undefined) throw new Error(`the reference has no tensor for ${name}`);
    if (w.values.length !== v.size) throw new Error(`${name}: ${w.shape} vs ghmdet ${v.shape}`);
    tf.tidy(() => v.assign(tf.tensor(w.values, v.shape, 'float32')));
  }
  if (weights.size !== vars.size)
    throw new Error(`the reference has ${weights.size} tensors, ghmdet ${vars.size}`);
}

async function main(): Promise<void> {
  const args = parseArgs('compareReference', process.argv.slice(2), {
    dump: { type: 'string', description: 'folder written by dump_reference.py' },
    data: { type: 'string', description: 'the shapes folder the dump was made from' },
    config: {
      type: 'string',
      description: 'ghmdet config of the same net (default configs/shapes_ce_sl1.json)',
    },
    'per-step': {
      type: 'boolean',
      description:
        'with a STEPS dump, also print each step: loss_cls, loss_bbox, grad_norm, ghmdet / reference',
    },
  });
  const dumpDir = stringFlag(args, 'dump');
  const dataDir = stringFlag(args, 'data');
  if (dumpDir === undefined || dataDir === undefined)
    throw new Error('--dump DIR and --data DIR are required');
  await setupBackend({ backend: 'wasm' });
  const dump = readTensorDump(dumpDir);
  const get = (name: string): DumpedTensor => {
    const t = dump.tensors.get(name);
    if (t === undefined) throw new Error(`the dump has no tensor ${name}`);
    return t;
  };
  const config = await loadConfigFile(stringFlag(args, 'config') ?? 'configs/shapes_ce_sl1.json');
  const stacked = config.model.head?.stackedConvs ?? 2;
  const init = new Map<string, DumpedTensor>();
  for (const [k, t] of dump.tensors) if (k.startsWith('init/')) init.set(k.slice(5), t);
  const weights = convertStateDict(init, stacked);

  const images = nhwc(get('input/images'));
  const b = images.shape[0]!;
  const paths = shapesSplitPaths(dataDir, 'train');
  const dataset = await readCocoDataset({ annotationFile: paths.annotationFile, imageRoot: paths.imageRoot });
  const gts: ImageGroundTruth[] = dataset.images.slice(0, b).map((im) => ({
    boxesXyxy: Float32Array.from(im.annotations.flatMap((a) => a.bboxXyxy)),
    labels: Int32Array.from(im.annotations.map((a) => a.classIndex)),
  }));

  const build = (cls: string, box: string): RetinaNet => {
    const model = new RetinaNet(
      {
        ...config.model,
        head: { ...config.model.head, loss_cls: CLS_LOSSES[cls], loss_bbox: BOX_LOSSES[box] },
      },
      { buildLoss: (c) => buildLoss(c) },
    );
    assignWeights(model, weights);
    return model;
  };

  const input = tf.tensor4d(images.values, images.shape as [number, number, number, number]);
  // Features and head outputs, training mode (batch statistics).
  {
    const model = build('ce', 'sl1');
    const c = model.backbone.apply(input, true);
    const p = model.neck.apply(c);
    ['C3', 'C4', 'C5'].forEach((n, i) =>
      report(`features ${n}`, c[i + 1]!.dataSync(), nhwc(get(`feats/${n}`)).values),
    );
    p.forEach((t, i) => report(`features P${i + 3}`, t.dataSync(), nhwc(get(`feats/P${i + 3}`)).values));
    tf.dispose([...c, ...p]);
    model.dispose();
  }
  const model = build('ce', 'sl1');
  const out = model.forward(input, true);
  out.clsLogits.forEach((t, l) =>
    report(`head cls logits level ${l}`, t.dataSync(), get(`out/cls${l}`).values),
  );
  out.bboxDeltas.forEach((t, l) =>
    report(`head box deltas level ${l}`, t.dataSync(), get(`out/box${l}`).values),
  );
  // Targets (anchors, assigner, coder).
  const targets = model.encodeTargets(out.featureSizes, gts);
  tf.dispose([...out.clsLogits, ...out.bboxDeltas]);
  const cat = (f: (i: number) => ArrayLike<number>): Float32Array =>
    Float32Array.from(targets.flatMap((_, i) => Array.from(f(i))));
  report(
    'targets labels',
    cat((i) => targets[i]!.labels),
    get('targets/labels').values,
  );
  report(
    'targets valid',
    cat((i) => targets[i]!.labelWeights),
    get('targets/valid').values,
  );
  report(
    'targets positive',
    cat((i) => targets[i]!.bboxWeights.filter((_, j) => j % 4 === 0)),
    get('targets/pos').values,
  );
  report(
    'targets box deltas',
    cat((i) => targets[i]!.bboxTargets),
    get('targets/box').values,
  );
  model.dispose();

  // Losses of every pair, gradients of two.
  const refLosses = dump.meta['losses'] as Record<string, [number, number]>;
  for (const cls of Object.keys(CLS_LOSSES)) {
    for (const box of Object.keys(BOX_LOSSES)) {
      const m = build(cls, box);
      const vars = m.namedTrainableVariables();
      let terms: number[] = [];
      const { grads, value } = tf.variableGrads(
        () => {
          const r = m.computeLoss(input, gts);
          terms = [r.terms.loss_cls.dataSync()[0]!, r.terms.loss_bbox.dataSync()[0]!];
          return r.loss;
        },
        vars.map((v) => v.variable),
      );
      value.dispose();
      const want = refLosses[`${cls}+${box}`]!;
      report(`loss ${cls}+${box} loss_cls`, [terms[0]!], [want[0]]);
      report(`loss ${cls}+${box} loss_bbox`, [terms[1]!], [want[1]]);
      const gradKey = `grad_${cls}_${box}/`;
      if (dump.tensors.has(`${gradKey}stem.0.weight`)) {
        const refGrads = new Map<string, DumpedTensor>();
        for (const [k, t] of dump.tensors)
          if (k.startsWith(gradKey)) refGrads.set(k.slice(gradKey.length), t);
        const converted = convertStateDict(refGrads, stacked);
        for (const { name, variable } of vars) {
          const g = grads[variable.name];
          if (g === undefined) console.log(`${('grad ' + name).padEnd(48)} missing in ghmdet`);
          else report(`grad ${cls}+${box} ${name}`, g.dataSync(), converted.get(name)!.values);
        }
        if (cls === 'ce') {
          const after = new Map<string, DumpedTensor>();
          for (const [k, t] of dump.tensors) if (k.startsWith('after/')) after.set(k.slice(6), t);
          for (const [name, t] of convertStateDict(after, stacked)) {
            report(`running statistics ${name}`, m.namedVariables().get(name)!.dataSync(), t.values);
          }
        }
      }
      tf.dispose(Object.values(grads));
      m.dispose();
    }
  }
  input.dispose();

  const predictions = dump.meta['predictions'] as CocoDetection[] | null | undefined;
  if (predictions !== null && predictions !== undefined) {
    const trained = new Map<string, DumpedTensor>();
    for (const [k, t] of dump.tensors) if (k.startsWith('trained/')) trained.set(k.slice(8), t);
    const m = build('ce', 'sl1');
    assignWeights(m, convertStateDict(trained, stacked));
    const valPaths = shapesSplitPaths(dataDir, 'val');
    const val = await readCocoDataset({
      annotationFile: valPaths.annotationFile,
      imageRoot: valPaths.imageRoot,
    });
    const valImages = await loadDatasetImages(val);
    const ours = detectImages(
      m,
      valImages,
      val.categories.map((c) => c.id),
    );
    m.dispose();
    const gt = groundTruthOf(val, valImages);
    const [a, r] = [evaluateCoco(gt, ours), evaluateCoco(gt, predictions)];
    const fmt = (x: number[]) =>
      x
        .slice(0, 3)
        .map((v) => (100 * v).toFixed(2))
        .join(' / ');
    console.log(
      `validation, weights trained by the reference for ${String(dump.meta['trainIters'])} iterations: ` +
        `ghmdet ${ours.length} detections, AP/AP50/AP75 ${fmt(a.stats)}, top class right ` +
        `${(100 * foundObjectClass(gt, ours).topClassRight).toFixed(1)} %; reference ${predictions.length} ` +
        `detections, ${fmt(r.stats)}, ${(100 * foundObjectClass(gt, predictions).topClassRight).toFixed(1)} %`,
    );
  }

  // The first `steps` training steps on fixed batches (images 8k..8k+7 in file order, no flips), through the
  // loader, the trainer and the config's update rule; the reference's per-step losses and final weights.
  const steps = Number(dump.meta['steps'] ?? 0);
  if (steps === 0) return;
  const loader = () =>
    new DetectionLoader(dataset, {
      batchSize: b,
      shuffle: false,
      flipProb: 0,
      resizeScale: [...config.model.preprocess.img_scale],
      mean: config.model.preprocess.mean,
      std: config.model.preprocess.std,
      dropLast: true,
    });
  const first = await loader().next();
  report('loader images (decode, normalise)', first.images, images.values);
  for (const [cls, box] of [
    ['ce', 'sl1'],
    ['ghmc', 'ghmr'],
  ] as const) {
    const m = build(cls, box);
    const runDir = await mkdtemp(join(tmpdir(), 'ghmdet-parity-'));
    const rule = trainerUpdate({ ...config.train, max_iters: steps }, 1);
    await train(detectorTrainable(m), new DetectorBatches(loader()), {
      runDir,
      ...rule,
      logInterval: 1,
      progress: false,
      message: () => {},
    });
    const log = (await readFile(join(runDir, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>);
    await rm(runDir, { recursive: true });
    const ref = (dump.meta['losses'] as Record<string, number[][]>)[`steps_${cls}_${box}`]!;
    if (args.flags['per-step'] === true) {
      const pair = (a: number, b: number) => `${a.toPrecision(6)} / ${b.toPrecision(6)}`;
      log.forEach((r, i) =>
        console.log(
          `  step ${i} ${cls}+${box}: loss_cls ${pair(r['loss_cls']!, ref[i]![0]!)}, loss_bbox ` +
            `${pair(r['loss_bbox']!, ref[i]![1]!)}, grad_norm ${pair(r['grad_norm']!, ref[i]![2]!)}`,
        ),
      );
    }
    for (const [i, name] of ['loss_cls', 'loss_bbox', 'grad_norm'].entries()) {
      report(
        `steps ${cls}+${box} ${name} per step`,
        log.map((r) => r[name]!),
        ref.map((r) => r[i]!),
      );
    }
    const after = new Map<string, DumpedTensor>();
    const key = `steps_${cls}_${box}/`;
    for (const [k, t] of dump.tensors) if (k.startsWith(key)) after.set(k.slice(key.length), t);
    // Per tensor: the largest difference relative to the tensor's largest magnitude; over all: the L2 norm of
    // the differences relative to the L2 norm of the weights.
    let worst = { name: '', rel: 0 };
    let diff2 = 0;
    let norm2 = 0;
    for (const [name, t] of convertStateDict(after, stacked)) {
      const got = m.namedVariables().get(name)!.dataSync();
      let maxAbs = 0;
      let scale = 0;
      t.values.forEach((v, i) => {
        maxAbs = Math.max(maxAbs, Math.abs(got[i]! - v));
        scale = Math.max(scale, Math.abs(v));
        diff2 += (got[i]! - v) ** 2;
        norm2 += v * v;
      });
      if (maxAbs / scale > worst.rel) worst = { name, rel: maxAbs / scale };
    }
    console.log(
      `steps ${cls}+${box}: weights after ${steps} steps differ by ${Math.sqrt(diff2 / norm2).toExponential(2)} ` +
        `of their norm; the worst tensor by ${worst.rel.toExponential(2)} of its largest value (${worst.name})`,
    );
    m.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});

/**
 * The trainer on the real detector, tiny: a 64-pixel shapes dataset of 8 training images and a few-thousand
 * parameter RetinaNet. Checks exact resume (weights, BatchNorm statistics, GHM state, loader state) and the
 * `ghmdet train` / `ghmdet predict` commands end to end on a run folder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { bindCategories, buildModel, loadData, loadRun } from '../../src/train/detectorRun.js';
import { loadRetinaNet } from '../../src/detector/nodeModelIO.js';
import { ALL_DETECTIONS } from '../../src/detector/retinaNet.js';
import { DetectorBatches } from '../../src/train/detectorBatches.js';
import { detectorTrainable } from '../../src/train/detectorTrainable.js';
import { RunLog } from '../../src/train/runLog.js';
import { train } from '../../src/train/trainer.js';
import { run as trainCommand } from '../../src/cli/train.js';
import { run as predictCommand } from '../../src/cli/predict.js';
import { run as evalCommand } from '../../src/cli/eval.js';
import { TINY_MODEL, tinyShapesData } from './tinyDetector.js';

let dir = '';

const TINY = {
  model: TINY_MODEL,
  data: tinyShapesData('', 2, 3),
  train: {
    max_iters: 4,
    optimizer: { lr: 0.01 },
    lr_config: { warmup_iters: 2, step: [3], by_epoch: false },
    log_interval: 1,
  },
  eval: { interval: 2, max_images: 2 },
};

/** Every file of a folder (not recursive) with its bytes. */
async function folderBytes(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(folder)).sort())
    out[f] = (await readFile(join(folder, f))).toString('base64');
  return out;
}

function tinyConfig() {
  return parseConfig({ ...TINY, data: { ...TINY.data, root: join(dir, 'shapes') } });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-dettrain-'));
  await setupBackend({});
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('detector training: interrupted + resumed equals uninterrupted, bitwise (weights, BN stats, GHM state)', async () => {
  const config = tinyConfig();
  const data = await loadData(config.data);
  const bound = bindCategories(config, data.train);
  const session = async (runDir: string, opts: { stopAtIter?: number; resume?: boolean }) => {
    const model = buildModel(bound);
    const trainable = detectorTrainable(model);
    const source = DetectorBatches.forTraining(data.train, {
      batchSize: 2,
      seed: 3,
      preprocess: bound.model.preprocess,
    });
    await train(trainable, source, {
      runDir,
      maxIters: 4,
      schedule: { baseLr: 0.01, warmupIters: 2, steps: [3] },
      progress: false,
      message: () => {},
      ...opts,
    });
    const weights = [...trainable.variables, ...trainable.buffers!].map((v) =>
      Array.from(v.variable.dataSync()),
    );
    const state = trainable.getState();
    model.dispose();
    return { weights, state };
  };
  const full = await session(join(dir, 'full'), {});
  await session(join(dir, 'split'), { stopAtIter: 2 });
  assert.equal((await loadCheckpoint(join(dir, 'split')))!.iteration, 2);
  const resumed = await session(join(dir, 'split'), { resume: true });
  assert.deepEqual(resumed.weights, full.weights);
  assert.deepEqual(resumed.state, full.state);
});

test('ghmdet train writes a run folder; ghmdet predict detects with it and draws', async () => {
  const configFile = join(dir, 'tiny.json');
  await writeFile(configFile, JSON.stringify({ ...TINY, data: { ...TINY.data, root: join(dir, 'shapes') } }));
  const runDir = join(dir, 'run');
  const out: string[] = [];
  const origLog = console.log;
  const origErr = process.stderr.write.bind(process.stderr);
  console.log = (s: string) => out.push(s);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await trainCommand(['--config', configFile, '--out', runDir]), 0);
  } finally {
    console.log = origLog;
    process.stderr.write = origErr;
  }
  assert.match(
    out.join('\n'),
    /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = /,
  );
  const files = await readdir(runDir);
  for (const f of [
    'config.json',
    'log.jsonl',
    'checkpoint.json',
    'categories.json',
    'eval.json',
    'results_val.json',
    'model.json',
    'weights.bin',
  ])
    assert.ok(files.includes(f), `run folder has ${f}`);
  // The run's model files give the checkpoint's detections, with the dataset's category names.
  const fromFiles = await loadRetinaNet(runDir);
  const fromRun = await loadRun(runDir);
  const pixels = { data: new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 256), width: 64, height: 64 };
  const got = await fromFiles.detect(pixels, ALL_DETECTIONS);
  assert.deepEqual(
    got,
    (await fromRun.model.detect(pixels, ALL_DETECTIONS)).map((d) => ({
      ...d,
      class: fromRun.categories[d.classIndex]!.name,
    })),
  );
  assert.deepEqual(fromFiles.config.classNames, ['circle', 'square', 'triangle', 'cross']);
  fromFiles.dispose();
  fromRun.model.dispose();
  const records = await new RunLog(join(runDir, 'log.jsonl')).read();
  assert.deepEqual(
    records.filter((r) => r.mode === 'train').map((r) => r.iter),
    [1, 2, 3, 4],
  );
  assert.deepEqual(
    records.filter((r) => r.mode === 'val').map((r) => r.iter),
    [2, 4],
  );
  assert.equal(typeof records.find((r) => r.mode === 'val')!['bbox_mAP_50'], 'number');
  assert.equal((await loadCheckpoint(runDir))!.iteration, 4);

  const results = join(dir, 'results.json');
  const drawDir = join(dir, 'drawn');
  const valImages = join(dir, 'shapes', 'val');
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(
      await predictCommand([
        '--run',
        runDir,
        '--images',
        valImages,
        '--out',
        results,
        '--draw',
        drawDir,
        '--score-thr',
        '0',
      ]),
      0,
    );
  } finally {
    process.stderr.write = origErr;
  }
  const dets = JSON.parse(await readFile(results, 'utf8')) as {
    image_id: number;
    category_id: number;
    bbox: number[];
    score: number;
  }[];
  for (const d of dets) {
    assert.ok([1, 2, 3].includes(d.image_id), `image_id ${d.image_id} from the file name`);
    assert.ok(d.category_id >= 1 && d.category_id <= 4);
    assert.equal(d.bbox.length, 4);
    assert.ok(d.score >= 0 && d.score <= 1);
  }
  assert.deepEqual((await readdir(drawDir)).sort(), ['000001.png', '000002.png', '000003.png']);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'results.images.json'), 'utf8')), [
    { id: 1, file_name: join(valImages, '000001.png') },
    { id: 2, file_name: join(valImages, '000002.png') },
    { id: 3, file_name: join(valImages, '000003.png') },
  ]);

  // A folder mixing numbered and other names: the others are numbered after the largest number, and the map
  // of file names to ids is written beside the results and named on stderr.
  const mixed = join(dir, 'mixed');
  await mkdir(mixed);
  await copyFile(join(valImages, '000001.png'), join(mixed, '2.png'));
  await copyFile(join(valImages, '000002.png'), join(mixed, 'a.png'));
  const err: string[] = [];
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const mixedOut = join(dir, 'mixed.json');
    assert.equal(
      await predictCommand(['--run', runDir, '--images', mixed, '--out', mixedOut, '--score-thr', '0']),
      0,
    );
    // (the tiny model may detect nothing above its score threshold: every detection's id is in the map)
    const mapped = JSON.parse(await readFile(join(dir, 'mixed.images.json'), 'utf8')) as { id: number }[];
    for (const d of JSON.parse(await readFile(mixedOut, 'utf8')) as { image_id: number }[])
      assert.ok(mapped.some((m) => m.id === d.image_id));
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'mixed.images.json'), 'utf8')), [
      { id: 2, file_name: join(mixed, '2.png') },
      { id: 3, file_name: join(mixed, 'a.png') },
    ]);
    assert.match(
      err.join(''),
      /image ids: 1 from file names, 1 numbered after them; the map is in .*mixed\.images\.json/,
    );
    // --out into a folder that does not exist fails before the model is loaded and any image is read.
    err.length = 0;
    await assert.rejects(
      predictCommand(['--run', runDir, '--images', mixed, '--out', join(dir, 'nowhere', 'r.json')]),
      /--out .*nowhere\/r\.json: the folder .*nowhere does not exist; create it first/,
    );
    assert.doesNotMatch(err.join(''), /loaded|detecting/);
  } finally {
    process.stderr.write = origErr;
  }
  await assert.rejects(trainCommand(['--config', configFile, '--out', runDir]), /already holds a checkpoint/);
  // A refused train writes nothing into the folder, not even the categories of its own (other) dataset.
  const otherConfig = join(dir, 'other.json');
  await writeFile(
    otherConfig,
    JSON.stringify({
      ...TINY,
      model: { ...TINY.model, numClasses: 2 },
      data: {
        ...TINY.data,
        root: join(dir, 'shapes-other'),
        shapes: { ...TINY.data.shapes, classes: ['cross', 'circle'] },
      },
    }),
  );
  const before = await folderBytes(runDir);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await assert.rejects(
      trainCommand(['--config', otherConfig, '--out', runDir]),
      /already holds a checkpoint; resume it \(--resume\) or choose another run folder/,
    );
    await assert.rejects(
      trainCommand(['--config', otherConfig, '--out', runDir, '--resume']),
      /categories\.json records the categories \[1 circle, 2 square, 3 triangle, 4 cross\], but the dataset has \[1 cross, 2 circle\]/,
    );
  } finally {
    process.stderr.write = origErr;
  }
  assert.deepEqual(
    await folderBytes(runDir),
    before,
    'the refused commands changed nothing in the run folder',
  );

  // ghmdet eval --run: the checkpoint on the validation split, in pycocotools' layout; same numbers as eval.json.
  const printed: string[] = [];
  console.log = (s: string) => printed.push(s);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await evalCommand(['--run', runDir, '--json']), 0);
  } finally {
    console.log = origLog;
    process.stderr.write = origErr;
  }
  const evalJson = JSON.parse(await readFile(join(runDir, 'eval.json'), 'utf8')) as { stats: number[] };
  assert.deepEqual((JSON.parse(printed.join('')) as { stats: number[] }).stats, evalJson.stats);
});

test('ghmdet train: Ctrl-C finishes the step, saves a checkpoint and exits 130; --resume completes the run', async () => {
  const configFile = join(dir, 'tiny-interrupt.json');
  await writeFile(configFile, JSON.stringify({ ...TINY, data: { ...TINY.data, root: join(dir, 'shapes') } }));
  const runDir = join(dir, 'interrupted');
  const listeners = process.listenerCount('SIGINT');
  const origLog = console.log;
  const origErr = process.stderr.write.bind(process.stderr);
  const err: string[] = [];
  let sent = false;
  console.log = () => {};
  // Ctrl-C as soon as the command listens for it (before the first step): the step runs, then the run stops.
  process.stderr.write = ((chunk: string) => {
    err.push(String(chunk));
    if (!sent && process.listenerCount('SIGINT') > listeners) {
      sent = true;
      process.emit('SIGINT');
    }
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal(await trainCommand(['--config', configFile, '--out', runDir]), 130);
    assert.equal(process.listenerCount('SIGINT'), listeners, 'the handler is removed');
    assert.match(err.join(''), /interrupt: finishing this step and saving a checkpoint/);
    assert.match(err.join(''), /trained 1 iterations .* \(interrupted; continue with --resume\)/);
    assert.equal((await loadCheckpoint(runDir))!.iteration, 1);
    assert.ok(!(await readdir(runDir)).includes('eval.json'), 'no final evaluation of an interrupted run');
    assert.equal(await trainCommand(['--resume', '--out', runDir]), 0);
  } finally {
    console.log = origLog;
    process.stderr.write = origErr;
  }
  assert.equal((await loadCheckpoint(runDir))!.iteration, 4);
  assert.ok((await readdir(runDir)).includes('eval.json'));
});

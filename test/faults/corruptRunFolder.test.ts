/**
 * Every file of a run folder that a command reads, damaged in turn (cut to half, emptied, garbled with NUL bytes,
 * one byte flipped where a checksum covers the file): loading the run (`predict`, `eval --run`) is refused with an
 * error naming the file, and the folder is left as it was. A resume falls back past a damaged checkpoint or
 * log line, saying which file was damaged, and refuses a damaged categories.json without changing anything.
 *
 * (config.json, categories.json and checkpoint.json carry no checksum of their own: a change that keeps them
 * valid JSON of the right shape reads as an edit, so the flipped byte is tried on the checksummed files only.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { setupBackend } from '../../src/engine/backend.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { loadRun, trainDetector } from '../../src/train/detectorRun.js';
import { TINY_MODEL, tinyShapesData } from '../train/tinyDetector.js';

let dir = '';
let pristine = '';

type Damage = 'cut' | 'empty' | 'garble' | 'flip';
const damages: Record<Damage, (bytes: Buffer) => Buffer> = {
  cut: (b) => b.subarray(0, b.length >> 1),
  empty: () => Buffer.alloc(0),
  garble: (b) => {
    const out = Buffer.from(b);
    out.fill(0, Math.max(0, (b.length >> 1) - 4), (b.length >> 1) + 4);
    return out;
  },
  flip: (b) => {
    const out = Buffer.from(b);
    out[b.length >> 1] = out[b.length >> 1]! ^ 0x01;
    return out;
  },
};

async function folderBytes(folder: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(folder)).sort())
    out[f] = (await readFile(join(folder, f))).toString('base64');
  return out;
}

/** A copy of the pristine run folder with `file` damaged. */
async function damaged(name: string, file: string, damage: Damage): Promise<string> {
  const runDir = join(dir, name);
  await rm(runDir, { recursive: true, force: true });
  await cp(pristine, runDir, { recursive: true });
  const path = join(runDir, file);
  await writeFile(path, damages[damage](await readFile(path)));
  return runDir;
}

function config() {
  return parseConfig({
    model: TINY_MODEL,
    data: tinyShapesData(join(dir, 'shapes'), 2, 2),
    train: {
      max_iters: 3,
      optimizer: { lr: 0.01 },
      lr_config: { warmup_iters: 1, step: [2], by_epoch: false },
      checkpoint_interval: 1,
    },
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ghmdet-faults-corrupt-'));
  await setupBackend({ backend: 'cpu' });
  pristine = join(dir, 'pristine');
  const r = await trainDetector(config(), { runDir: pristine, progress: false, log: () => {} });
  r.model.dispose();
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a damaged file of a run folder: loading the run is refused naming the file, and nothing changes', async () => {
  const files = (await readdir(pristine)).sort();
  assert.deepEqual(files, [
    'categories.json',
    'checkpoint.json',
    'ckpt-00000002.bin',
    'ckpt-00000002.json',
    'ckpt-00000003.bin',
    'ckpt-00000003.json',
    'config.json',
    'eval.json',
    'log.jsonl',
    'model.json', // the final model (loadRetinaNet), which loading the run does not read
    'results_val.json',
    'weights.bin',
  ]);
  const cases: [string, Damage[]][] = [
    ['config.json', ['cut', 'empty', 'garble']],
    ['categories.json', ['cut', 'empty', 'garble']],
    ['checkpoint.json', ['cut', 'empty', 'garble']],
    ['ckpt-00000003.json', ['cut', 'empty', 'garble', 'flip']],
    ['ckpt-00000003.bin', ['cut', 'empty', 'garble', 'flip']],
  ];
  for (const [file, kinds] of cases) {
    for (const kind of kinds) {
      const runDir = await damaged('load', file, kind);
      const before = await folderBytes(runDir);
      await assert.rejects(
        loadRun(runDir),
        (err: Error) => {
          assert.ok(err.message.includes(join(runDir, file)), `${file} ${kind}: ${err.message}`);
          assert.match(err.message, /is damaged: /, `${file} ${kind}: ${err.message}`);
          return true;
        },
        `${file} ${kind}`,
      );
      assert.deepEqual(await folderBytes(runDir), before, `${file} ${kind}: the folder changed`);
    }
  }
});

test('a resume passes over a damaged checkpoint or log line, saying so, and refuses damaged categories', async () => {
  const resume = async (runDir: string) => {
    const said: string[] = [];
    const r = await trainDetector(config(), {
      runDir,
      resume: true,
      progress: false,
      log: (l) => said.push(l),
    });
    r.model.dispose();
    return { said: said.join('\n'), iteration: r.train.iteration };
  };
  const bin = await damaged('resume-bin', 'ckpt-00000003.bin', 'flip');
  const a = await resume(bin);
  assert.match(
    a.said,
    /ckpt-00000003\.bin is damaged: its SHA-256 .*; resuming from the newest intact checkpoint, iteration 2/,
  );
  assert.equal(a.iteration, 3);
  assert.equal((await loadCheckpoint(bin))!.iteration, 3, 'the damaged checkpoint is written again');

  const manifest = await damaged('resume-manifest', 'checkpoint.json', 'garble');
  const b = await resume(manifest);
  assert.match(
    b.said,
    /checkpoint\.json is damaged: it is not valid JSON .*; resuming from the newest intact checkpoint, iteration 3/,
  );

  const log = await damaged('resume-log', 'log.jsonl', 'garble');
  const c = await resume(log);
  assert.match(c.said, /log\.jsonl line \d+ is damaged \(not a JSON record\); it is left out of the log/);

  const categories = await damaged('resume-categories', 'categories.json', 'garble');
  const before = await folderBytes(categories);
  await assert.rejects(resume(categories), /categories\.json is damaged: it is not valid JSON/);
  assert.deepEqual(await folderBytes(categories), before);
});

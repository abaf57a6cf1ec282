/**
 * docs/scaling.md walks through export -> mmdetection -> import -> eval -> detect -> fine-tune. Every `ghmdet`
 * command in its `sh` blocks runs here, in the page's order, with the page's flags, on small stand-ins for its
 * files: the parity generator's narrow checkpoints for the COCO-sized ones (where PyTorch is installed), a tiny
 * shapes set for COCO's data, and the page's own `finetune.json` shortened to two iterations. A command that names
 * a file the test has no stand-in for fails the test, so the page and the test move together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/program.js';
import { loadData } from '../../src/train/detectorRun.js';
import { parseConfig } from '../../src/config.js';
import { parsePythonConfig } from '../interop/pythonConfig.js';
import { torchAvailable } from '../parity/fixture.js';

const DOC = 'docs/scaling.md';

/** The `ghmdet ...` command lines of the page's `sh` blocks, and its `json` block. */
function pageContents(md: string): { commands: string[][]; finetune: Record<string, unknown> } {
  const commands: string[][] = [];
  let finetune: Record<string, unknown> | null = null;
  for (const m of md.matchAll(/```(\w+)\n([\s\S]*?)```/g)) {
    if (m[1] === 'json') finetune = JSON.parse(m[2]!) as Record<string, unknown>;
    if (m[1] !== 'sh') continue;
    for (const line of m[2]!.replace(/\\\n\s*/g, ' ').split('\n')) {
      const words = line.trim().split(/\s+/);
      if (words[0] === 'ghmdet') commands.push(words.slice(1));
    }
  }
  if (finetune === null) throw new Error(`${DOC} has no json block (finetune.json)`);
  return { commands, finetune };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Runs one command line in this process, its output captured. */
async function ghmdet(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = console.log;
  const write = process.stderr.write.bind(process.stderr);
  const stdout = process.stdout.write.bind(process.stdout);
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  } finally {
    console.log = log;
    process.stderr.write = write;
    process.stdout.write = stdout;
  }
}

test('docs/scaling.md: every ghmdet command of the page runs, in order, on small stand-ins', async (t) => {
  const { commands, finetune } = pageContents(await readFile(DOC, 'utf8'));
  const names = commands.map((c) => c[0]);
  for (const name of ['export-config', 'import', 'eval', 'predict', 'train'])
    assert.ok(names.includes(name), `the page shows ghmdet ${name}`);

  const tmp = await mkdtemp(join(tmpdir(), 'ghmdet-scaling-doc-'));
  const python = process.env['GHMDET_PYTHON'];
  try {
    const tiny = { type: 'shapes', root: join(tmp, 'shapes'), shapes: { train: 8, val: 2, size: 64 } };
    await loadData(parseConfig({ data: tiny, train: { max_iters: 1 } }).data);
    const torch = torchAvailable();
    const gen = join(tmp, 'gen');
    if (torch.ok) {
      const archs = ['mmdet_retinanet', 'torchvision_retinanet_v1', 'torchvision_resnet50'];
      const r = spawnSync(
        torch.python,
        [
          'tools/make_parity_fixture.py',
          '--out',
          gen,
          '--keep-checkpoints',
          ...archs.flatMap((a) => ['--arch', a]),
        ],
        { encoding: 'utf8', timeout: 300_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      process.env['GHMDET_PYTHON'] = torch.python; // what `ghmdet import` runs
    } else {
      if (process.env['GHMDET_REQUIRE_TORCH'] === '1')
        throw new Error(`PyTorch is required (GHMDET_REQUIRE_TORCH=1) but ${torch.why}`);
      // Without PyTorch the imports cannot run: their model directories are the committed fixture's.
      const fixture = (arch: string) => join('test', 'fixtures', 'parity', arch, 'model');
      await cp(fixture('mmdet_retinanet'), join(tmp, 'models', 'ghm'), { recursive: true });
      await cp(fixture('torchvision_retinanet_v1'), join(tmp, 'models', 'tv'), { recursive: true });
      await cp(fixture('torchvision_resnet50'), join(tmp, 'models', 'r50'), { recursive: true });
    }
    // finetune.json: the page's, with the tiny data and two iterations.
    const model = finetune['model'] as Record<string, unknown>;
    assert.equal(model['preset'], undefined, "the page's finetune.json takes the imported architecture");
    await writeFile(
      join(tmp, 'finetune.json'),
      JSON.stringify({
        ...finetune,
        model: { ...model, preprocess: { img_scale: [64, 64] } },
        data: {
          ...(finetune['data'] as object),
          root: join(tmp, 'shapes'),
          shapes: { train: 8, val: 2, size: 64 },
          batch_size: 2,
        },
        train: { max_iters: 2, lr_config: { warmup_iters: 1, step: [1], by_epoch: false } },
      }),
    );
    const standIn: Record<string, string> = {
      'retinanet_ghm_r50_fpn_1x_coco.py': join(tmp, 'mmdet.py'),
      'work_dirs/retinanet_ghm_r50_fpn_1x_coco/latest.pth': join(gen, 'mmdet_retinanet', 'checkpoint.pth'),
      'models/retinanet_ghm_r50': join(tmp, 'models', 'ghm'),
      'retinanet_resnet50_fpn_coco-eeacb38b.pth': join(gen, 'torchvision_retinanet_v1', 'checkpoint.pth'),
      'models/torchvision_retinanet': join(tmp, 'models', 'tv'),
      'resnet50-0676ba61.pth': join(gen, 'torchvision_resnet50', 'checkpoint.pth'),
      'models/resnet50': join(tmp, 'models', 'r50'),
      'data/coco/annotations/instances_val2017.json': join(
        tmp,
        'shapes',
        'annotations',
        'instances_val.json',
      ),
      'data/coco/val2017': join(tmp, 'shapes', 'val'),
      photos: join(tmp, 'shapes', 'val'),
      'results.json': join(tmp, 'results.json'),
      drawn: join(tmp, 'drawn'),
      'finetune.json': join(tmp, 'finetune.json'),
      'runs/finetune': join(tmp, 'runs', 'finetune'),
    };
    await mkdir(join(tmp, 'runs'), { recursive: true });
    for (const words of commands) {
      const argv = words.map((w) => standIn[w] ?? w);
      for (const w of words)
        if (standIn[w] === undefined && /[/.]/.test(w) && !w.startsWith('-'))
          assert.ok(
            await exists(w),
            `${DOC}: ghmdet ${words.join(' ')} names ${w}, which has no stand-in here`,
          );
      const line = `ghmdet ${words.join(' ')}`;
      if (words[0] === 'import' && !torch.ok) {
        t.diagnostic(`NOT RUN: ${line} (${torch.why}); its model directory is the committed fixture's`);
        continue;
      }
      const r = await ghmdet(argv);
      assert.equal(r.code, 0, `${line}: exit ${r.code}\n${r.err}`);
      t.diagnostic(`ran: ${line}`);
      if (words[0] === 'export-config') {
        const env = parsePythonConfig(await readFile(join(tmp, 'mmdet.py'), 'utf8'));
        assert.equal((env['model'] as Record<string, unknown>)['type'], 'RetinaNet');
      }
      if (words[0] === 'import') assert.match(r.err, /^imported .*: \d+ tensors/m);
      if (words[0] === 'eval') assert.match(r.out, /Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95/);
      if (words[0] === 'predict') {
        assert.ok(Array.isArray(JSON.parse(await readFile(join(tmp, 'results.json'), 'utf8'))));
        assert.deepEqual((await readdir(join(tmp, 'drawn'))).sort(), ['000001.png', '000002.png']);
      }
      if (words[0] === 'train') {
        assert.match(r.err, /init from .*: loaded \d+ tensors, skipped \d+: neck\/\* .*head\/\*/);
        assert.ok(await exists(join(tmp, 'runs', 'finetune', 'checkpoint.json')));
      }
    }
  } finally {
    if (python === undefined) delete process.env['GHMDET_PYTHON'];
    else process.env['GHMDET_PYTHON'] = python;
    await rm(tmp, { recursive: true, force: true });
  }
});

/**
 * The README runs as written. Its shell lines are the two commands, `npm run` scripts that exist, and
 * `npx ghmdet ...` lines that parse with the real command definitions, read only what is in the repository or what
 * an earlier line made, and leave the main job's `data/shapes` and `runs/default` alone; the cheap ones really run,
 * in a temporary copy of the repository. Its JavaScript is the text of an example file that a test runs. The links
 * of the README and of docs/ lead to files and headings that exist, and the docs' `npx ghmdet` lines parse too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { runCli } from '../../src/cli/program.js';
import { formatSummary } from '../../src/eval/cocoSummary.js';
import { ensureDistBuilt, ROOT } from '../package/dist.js';
import { effects, parseCli, READABLE_INSIDE, type Effects, type Write } from './cliCommands.js';
import { codeBlocks, headingAnchors, links } from './markdown.js';
import { shellCommands, type ShellCommand } from './shellLines.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const README = read('README.md');
const DOC_PAGES = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const SCRIPTS = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
/** The main job's folders (`npm start`), which no other documented command may write. */
const MAIN_JOB = ['data/shapes', 'runs/default'];
/** A README `data shapes` line really runs: it stays small so this test stays fast. */
const MAX_SHAPES_IMAGES = 500;

const shellBlocks = (page: string) =>
  codeBlocks(page).filter((b) => ['sh', 'bash', 'shell'].includes(b.lang));
const readmeCommands: ShellCommand[] = shellBlocks(README).flatMap((b) => shellCommands(b.lines));
const isGhmdet = (c: ShellCommand) => c.argv[0] === 'npx' && c.argv[1] === 'ghmdet';

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir + '/');

test('README: the two commands as CI and newcomers run them, and npm scripts that exist', () => {
  const lines = shellBlocks(README).flatMap((b) => b.lines.map((l) => l.replace(/\s+#.*$/, '').trim()));
  assert.ok(lines.includes('npm install && npm start'), 'README shows `npm install && npm start`');
  assert.ok(lines.includes('npm install && npm test'), 'README shows `npm install && npm test`');
  for (const c of readmeCommands) {
    const [cmd, sub, script] = c.argv;
    if (isGhmdet(c)) continue;
    if (cmd === 'npm' && (sub === 'install' || sub === 'ci') && c.argv.length === 2) continue;
    if (cmd === 'npm' && (sub === 'start' || sub === 'test') && c.argv.length === 2) {
      assert.ok(SCRIPTS[sub] !== undefined, `package.json has no "${sub}" script: ${c.text}`);
    } else if (cmd === 'npm' && sub === 'run') {
      assert.ok(
        script !== undefined && SCRIPTS[script] !== undefined,
        `no npm script "${script}": ${c.text}`,
      );
    } else if (cmd === 'node') {
      assert.ok(sub !== undefined && existsSync(join(ROOT, sub)), `no file to run: ${c.text}`);
    } else {
      assert.fail(
        `README command "${c.text}" is none the README test can check: write ghmdet commands as npx ghmdet ...`,
      );
    }
  }
  for (const page of DOC_PAGES) {
    for (const b of shellBlocks(read(page))) {
      for (const c of shellCommands(b.lines, (line) => /^npm run /.test(line))) {
        assert.ok(SCRIPTS[c.argv[2]!] !== undefined, `${page}:${b.line}: no npm script "${c.argv[2]}"`);
      }
    }
  }
});

/** Follows a page's commands in order: what each reads must exist or have been written before. */
class Workspace {
  private written: (Write & { by: string })[] = [];

  constructor(private readonly exists: (path: string) => boolean) {}

  /** Why `path` cannot be read now, or null when it can. */
  unreadable(path: string): string | null {
    if (this.exists(path)) return null;
    for (const w of this.written) {
      if (path === w.path) return null;
      if (inside(path, w.path) && READABLE_INSIDE[w.kind].includes(relative(w.path, path))) return null;
    }
    return `${path} is neither in the repository nor made by an earlier command`;
  }

  /** Records the command's writes; the reason when one clobbers the main job or an earlier command's output. */
  write(e: Effects, by: string, isMainJob: boolean): string | null {
    for (const w of e.writes) {
      const main = MAIN_JOB.find((m) => inside(w.path, m) || inside(m, w.path));
      const earlier = this.written.find((x) => x.path === w.path);
      // The same shapes dataset, with the same parameters, is reused, not replaced: the main job's too.
      const sameDataset = earlier?.kind === 'shapes dataset' && earlier.shapes === w.shapes;
      if (main !== undefined && !isMainJob && !(sameDataset && w.path === main))
        return `${by} writes ${w.path}, the main job's ${main}; give it a folder of its own`;
      if (earlier !== undefined && !sameDataset && !(w.kind === 'run folder' && w.resume === true))
        return `${by} writes ${w.path}, which ${earlier.by} wrote before`;
      if (earlier === undefined) this.written.push({ ...w, by });
    }
    return null;
  }
}

test('README: every npx ghmdet line parses, reads what exists or an earlier line made, and leaves the main job alone', async () => {
  // What a clone has: not data/ and runs/, which commands make (and which a working copy may hold).
  const ws = new Workspace((p) => !/^(data|runs)(\/|$)/.test(p) && existsSync(join(ROOT, p)));
  let checked = 0;
  for (const c of readmeCommands) {
    const isMainJob = c.argv[0] === 'npm' && c.argv[1] === 'start';
    if (!isGhmdet(c) && !isMainJob) continue;
    const argv = isMainJob ? ['demo'] : c.argv.slice(2);
    const parsed = await parseCli(argv);
    assert.equal(parsed.code, 0, `${c.text}\n${parsed.err}`);
    assert.equal(parsed.err, '', `${c.text} warns: ${parsed.err}`);
    const e = effects(parsed, ROOT);
    for (const p of e.reads) assert.equal(ws.unreadable(p), null, `${c.text}: ${ws.unreadable(p)}`);
    const clobber = ws.write(e, c.text, isMainJob || parsed.path?.[0] === 'demo');
    assert.equal(clobber, null, clobber ?? '');
    checked++;
  }
  assert.ok(checked >= 5, `README has ${checked} ghmdet command lines`);
});

/** Runs `ghmdet argv` in this process in `cwd`; stdout, stderr and the exit code. */
async function runGhmdet(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { log: console.log, error: console.error, warn: console.warn, cwd: process.cwd() };
  console.log = (...xs: unknown[]) => void (out += xs.join(' ') + '\n');
  console.error = console.warn = (...xs: unknown[]) => void (err += xs.join(' ') + '\n');
  process.chdir(cwd);
  try {
    const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  } finally {
    process.chdir(saved.cwd);
    Object.assign(console, { log: saved.log, error: saved.error, warn: saved.warn });
  }
}

test('README: the cheap ghmdet lines (help, data shapes, data check, eval of files) run as written', async () => {
  // A copy of the repository without its data/ and runs/: the tracked files, linked.
  const dir = mkdtempSync(join(tmpdir(), 'ghmdet-readme-'));
  const skip = new Set(['.git', 'data', 'runs', 'node_modules', 'dist']);
  for (const entry of readdirSync(ROOT).filter((e) => !skip.has(e)))
    symlinkSync(join(ROOT, entry), join(dir, entry));
  const ran: string[] = [];
  try {
    for (const c of readmeCommands.filter(isGhmdet)) {
      const argv = c.argv.slice(2);
      const parsed = await parseCli(argv);
      const command = (parsed.path ?? []).join(' ');
      const e = effects(parsed, ROOT);
      const cheap =
        parsed.path === null ||
        command === 'data check' ||
        (command === 'eval' && parsed.flags['run'] === undefined) ||
        command === 'data shapes';
      if (!cheap || !e.reads.every((p) => existsSync(join(dir, p)))) continue;
      if (command === 'data shapes') {
        const images = Number(parsed.flags['train']) + Number(parsed.flags['val']);
        assert.ok(images <= MAX_SHAPES_IMAGES, `${c.text}: ${images} images; keep the example small`);
      }
      const r = await runGhmdet(argv, dir);
      assert.equal(r.code, 0, `${c.text} exits ${r.code}:\n${r.err}`);
      assert.notEqual(r.out, '', `${c.text} prints its result`);
      for (const w of e.writes) assert.ok(existsSync(join(dir, w.path)), `${c.text} made ${w.path}`);
      ran.push(c.text);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(ran.length >= 4, `ran only:\n${ran.join('\n')}`);
});

test('README: npx ghmdet runs this package in a clone after npm install', () => {
  // In a project whose package.json names ghmdet, `npx ghmdet` runs that project's own bin (npm links the project
  // into its npx cache on the first call, which takes long enough that this test runs the bin directly).
  ensureDistBuilt();
  const pkg = JSON.parse(read('package.json')) as {
    name: string;
    version: string;
    bin: Record<string, string>;
  };
  assert.equal(pkg.name, 'ghmdet');
  const bin = pkg.bin['ghmdet'];
  assert.ok(bin !== undefined, 'package.json has a ghmdet bin');
  assert.match(read(bin), /^#!\/usr\/bin\/env node\n/, `${bin} starts with a node shebang`);
  const r = spawnSync(process.execPath, [bin, '--version'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${pkg.version}\n`);
});

/** The example files (examples/, recursively) and their lines. */
function exampleFiles(dir = 'examples'): { file: string; lines: string[] }[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const file = `${dir}/${name}`;
    if (statSync(join(ROOT, file)).isDirectory()) return exampleFiles(file);
    return /\.(m?js|ts)$/.test(name) ? [{ file, lines: read(file).split('\n') }] : [];
  });
}

/** Whether `segments` occur in `lines` in order, each as consecutive lines. */
function containsInOrder(lines: string[], segments: string[][]): boolean {
  let from = 0;
  for (const seg of segments) {
    let at = -1;
    for (let i = from; i + seg.length <= lines.length && at < 0; i++) {
      if (seg.every((l, k) => lines[i + k] === l)) at = i;
    }
    if (at < 0) return false;
    from = at + seg.length;
  }
  return true;
}

test("README: its JavaScript is an example file's text, and a test runs that file", () => {
  const blocks = codeBlocks(README).filter((b) => /^(js|javascript|mjs|ts|typescript)$/.test(b.lang));
  assert.ok(blocks.length >= 1, 'README shows the library in use');
  const testSources = readdirSync(join(ROOT, 'test'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => read(join('test', f)));
  for (const block of blocks) {
    // `// ...` lines stand for lines of the file left out of the README
    const segments: string[][] = [[]];
    for (const line of block.lines) {
      if (/^\s*\/\/ \.\.\./.test(line)) segments.push([]);
      else segments.at(-1)!.push(line);
    }
    const parts = segments.map((s) => s.join('\n').trim().split('\n')).filter((s) => s.join('') !== '');
    const source = exampleFiles().find((f) => containsInOrder(f.lines, parts));
    assert.ok(
      source !== undefined,
      `README line ${block.line}: the code is not the text of a file in examples/ (put it there, with a test)`,
    );
    assert.ok(
      testSources.some((t) => t.includes(source.file)),
      `no test runs ${source.file}, which README line ${block.line} shows`,
    );
  }
});

test('README and docs: relative links lead to files and headings that exist', () => {
  for (const page of ['README.md', ...DOC_PAGES]) {
    const text = read(page);
    for (const { target, line } of links(text)) {
      if (/^[a-z]+:/i.test(target)) continue; // http(s), mailto
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const path = file === '' ? page : join(dirname(page), decodeURI(file));
      assert.ok(existsSync(join(ROOT, path)), `${page}:${line}: ${target} does not exist`);
      if (anchor !== undefined && path.endsWith('.md')) {
        assert.ok(
          headingAnchors(read(path)).has(anchor),
          `${page}:${line}: ${path} has no heading #${anchor}`,
        );
      }
    }
  }
});

test("docs: every npx ghmdet line parses with the CLI's definitions, without a deprecated spelling", async () => {
  let n = 0;
  for (const page of DOC_PAGES) {
    for (const b of shellBlocks(read(page))) {
      for (const c of shellCommands(b.lines, (line) => line.startsWith('npx ghmdet '))) {
        const parsed = await parseCli(c.argv.slice(2));
        assert.equal(parsed.code, 0, `${page}:${b.line}: ${c.text}\n${parsed.err}`);
        assert.equal(parsed.err, '', `${page}:${b.line}: ${c.text} warns: ${parsed.err}`);
        n++;
      }
    }
  }
  assert.ok(n > 0);
});

test("examples/coco is pycocotools' tiny hand-made case, and eval prints pycocotools' numbers for it", async () => {
  const vector = JSON.parse(read('test/fixtures/coco/coco_tiny_hand.json')) as {
    gt: unknown;
    dets: unknown;
    expected: { stats: number[] };
  };
  assert.deepEqual(JSON.parse(read('examples/coco/instances.json')), vector.gt);
  assert.deepEqual(JSON.parse(read('examples/coco/detections.json')), vector.dets);
  const r = await runGhmdet(
    ['eval', '--gt', 'examples/coco/instances.json', '--dt', 'examples/coco/detections.json'],
    ROOT,
  );
  assert.equal(r.code, 0, r.err);
  const [summary, found] = [r.out.split('\n').slice(0, 12).join('\n'), r.out.split('\n')[12]];
  assert.equal(summary, formatSummary(vector.expected.stats));
  // every object is found at IoU 0.5, and named right by its top-scoring detection
  assert.match(found ?? '', /^found 3 of 3 objects .*right class for 3 of them/);
});

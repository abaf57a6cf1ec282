// The CLI's conventions (src/cli/command.ts), checked on every command: help, usage line, placeholders, one
// meaning per flag name, error format, exit codes, did-you-mean, stray arguments, deprecated spellings. Most checks
// run `runCli` in this process (the function the executable calls, on the same argv); a few spawn the executable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildProgram, runCli } from '../../src/cli/program.js';
import { runCommand, type Command } from '../../src/cli/command.js';
import { command as demoCommand } from '../../src/cli/demo.js';
import { command as analyzeCommand } from '../../src/cli/analyze.js';

interface Ran {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** Every command's path under `ghmdet`: [], ['demo'], ..., ['data'], ['data', 'shapes'], ['data', 'check']. */
function commandPaths(cmd: Command, prefix: string[] = []): { path: string[]; cmd: Command }[] {
  return [{ path: prefix, cmd }, ...cmd.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

const ALL = commandPaths(buildProgram());

test('conventions: every command and subcommand has -h/--help with a usage line and named placeholders', async () => {
  assert.equal(ALL.length, 1 + 11 + 3, 'ghmdet, its 11 commands and the 3 subcommands of data');
  for (const { path, cmd } of ALL) {
    const name = ['ghmdet', ...path].join(' ');
    const help = await cli(...path, '--help');
    assert.equal(help.code, 0, `${name} --help exits 0`);
    assert.equal(help.err, '', `${name} --help writes nothing to stderr`);
    assert.deepEqual(await cli(...path, '-h'), help, `${name} -h is --help`);
    assert.match(help.out, new RegExp(`^usage: ${name} `), `${name} --help starts with its usage line`);
    assert.doesNotMatch(help.out, /<value>|<[A-Za-z_.|]+>/, `${name} --help shows placeholders without <>`);
    for (const option of cmd.options.filter((o) => !o.hidden)) {
      assert.ok(option.description.length > 0, `${name} ${option.long} has a description`);
      // the flag, then its placeholder in capitals when it takes a value
      const term = `(-[a-zA-Z], )?${option.long}${option.required ? ' [A-Z][A-Z_|.]*' : ''}`;
      assert.match(help.out, new RegExp(`^  ${term}  `, 'm'), `${name} --help documents ${option.long}`);
    }
    for (const sub of cmd.commands) assert.match(help.out, new RegExp(`^  ${sub.name()}  `, 'm'));
  }
});

test('conventions: a flag name means one kind of value in every command', () => {
  // N: a count; FRACTION/SCORE: a number; FILE/DIR: a path; NAME(S)/TEXT/SPEC: words; none: a switch
  const kindOf = (placeholder: string | undefined): string =>
    placeholder === undefined
      ? 'switch'
      : /^(N)$/.test(placeholder)
        ? 'count'
        : /^(FRACTION|SCORE)$/.test(placeholder)
          ? 'number'
          : /^(FILE|DIR)(\|FILE|\|DIR)*(\.\.\.)?$/.test(placeholder)
            ? 'path'
            : 'words';
  const kinds = new Map<string, Map<string, string[]>>();
  for (const { path, cmd } of ALL) {
    for (const o of cmd.options.filter((o) => !o.hidden && o.long !== undefined)) {
      const kind = kindOf(/<([^>]+)>/.exec(o.flags)?.[1]);
      const byKind = kinds.get(o.long!) ?? new Map<string, string[]>();
      byKind.set(kind, [...(byKind.get(kind) ?? []), ['ghmdet', ...path].join(' ')]);
      kinds.set(o.long!, byKind);
    }
  }
  for (const [flag, byKind] of kinds)
    assert.equal(
      byKind.size,
      1,
      `${flag} takes ${[...byKind].map(([k, c]) => `${k} in ${c.join(', ')}`).join('; ')}`,
    );
  assert.equal(kinds.get('--images')!.has('path'), true);
  assert.equal(kinds.get('--draw')!.has('path'), true);
});

test('conventions: --version / -V print the package version', async () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.deepEqual(await cli('--version'), { code: 0, out: `${version}\n`, err: '' });
  assert.deepEqual(await cli('-V'), { code: 0, out: `${version}\n`, err: '' });
});

test('conventions: usage errors exit 2 with "ghmdet <command>: message" and a did-you-mean', async () => {
  const firstLine = (r: Ran) => r.err.split('\n')[0];
  const cases: [string[], string][] = [
    [['trian'], "ghmdet: unknown command 'trian' (did you mean train?)"],
    [['train', '--confg', 'x.json'], "ghmdet train: unknown option '--confg' (did you mean --config?)"],
    [
      ['data', 'check', '--cocoo', 'a.json'],
      "ghmdet data check: unknown option '--cocoo' (did you mean --coco?)",
    ],
    [['data', 'shaeps'], "ghmdet data: unknown command 'shaeps' (did you mean shapes?)"],
    [
      ['train', 'configs/x.json'],
      'ghmdet train: unexpected argument "configs/x.json" (did you mean --config configs/x.json?)',
    ],
    [['analyze', 'runs/a'], 'ghmdet analyze: unexpected argument "runs/a" (did you mean --run runs/a?)'],
    [
      ['eval', 'dt.json'],
      'ghmdet eval: unexpected argument "dt.json"; ghmdet eval takes no positional arguments',
    ],
    [
      ['conformance', 'a', 'b'],
      'ghmdet conformance: unexpected argument "b"; ghmdet conformance takes DIR only',
    ],
    [
      ['train', '--max-iters', 'x'],
      "ghmdet train: option '--max-iters N' argument 'x' is invalid. Expected an integer >= 1.",
    ],
    [['train'], 'ghmdet train: give --config FILE (or --resume with --out DIR to continue a run)'],
    [['data', 'shapes'], "ghmdet data shapes: required option '--out DIR' not specified"],
    [['data', 'shapes', '--outt', 'x'], "ghmdet data shapes: unknown option '--outt' (did you mean --out?)"],
    [
      ['predict', '--run', 'r', 'a.png'],
      'ghmdet predict: unexpected argument "a.png" (did you mean --images a.png?)',
    ],
    [['report'], "ghmdet report: missing required argument 'RUN_DIR'"],
    [
      ['eval', '--backend', 'tpu'],
      "ghmdet eval: option '--backend NAME' argument 'tpu' is invalid. Expected one of tensorflow, wasm, cpu, webgl, webgpu.",
    ],
  ];
  for (const [argv, line] of cases) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, `ghmdet ${argv.join(' ')} exits 2`);
    assert.equal(r.out, '');
    assert.equal(firstLine(r), line);
    assert.match(r.err.split('\n')[1]!, /^\(ghmdet .*--help for usage\)$/);
  }
  // bare: usage on stderr, exit 2 (a command is required, as with git and npm)
  for (const argv of [[], ['data']]) {
    const r = await cli(...argv);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(r.err, new RegExp(`^usage: ${['ghmdet', ...argv].join(' ')} COMMAND`));
  }
});

test('conventions: a failure exits 1 with "ghmdet <command>: message"', async () => {
  const r = await cli('eval', '--gt', 'no/such/gt.json', '--dt', 'no/such/dt.json');
  assert.equal(r.code, 1);
  assert.match(r.err, /^ghmdet eval: cannot read ground-truth file no\/such\/gt\.json: ENOENT/);
});

test('conventions: the renamed flags keep their old spelling for one release, with a warning', async () => {
  const parse = async (cmd: Command, argv: string[]) => {
    let flags: Record<string, unknown> = {};
    cmd.action(() => void (flags = cmd.opts())); // the command's own flags and hooks, without running it
    let err = '';
    const code = await runCommand(cmd, argv, { out: () => {}, err: (t) => void (err += t) });
    return { code, flags, err };
  };
  const oldDraw = await parse(demoCommand(), ['--draw', '3']);
  assert.equal(oldDraw.code, 0);
  assert.equal(oldDraw.flags['numDrawn'], 3);
  assert.equal(
    oldDraw.err,
    'ghmdet demo: --draw is deprecated, use --num-drawn N (--draw goes in the next release)\n',
  );
  const newDraw = await parse(demoCommand(), ['--num-drawn', '3']);
  assert.deepEqual([newDraw.flags['numDrawn'], newDraw.err], [3, '']);
  assert.equal((await parse(demoCommand(), [])).flags['numDrawn'], 8);

  const oldImages = await parse(analyzeCommand(), ['--run', 'r', '--images', '5']);
  assert.equal(oldImages.flags['numImages'], 5);
  assert.match(oldImages.err, /--images is deprecated, use --num-images N/);
  const newImages = await parse(analyzeCommand(), ['--run', 'r', '--num-images', '5']);
  assert.deepEqual([newImages.flags['numImages'], newImages.err], [5, '']);
  await assert.rejects(parse(analyzeCommand(), ['--run', 'r', '--images', 'x']), /argument 'x' is invalid/);

  // through the whole CLI: the warning with the command's prefix; both spellings at once are a usage error
  const both = await cli('demo', '--draw', '3', '--num-drawn', '2');
  assert.equal(both.code, 2);
  assert.match(both.err, /^ghmdet demo: give --num-drawn or its old spelling --draw, not both/);
  const helpText = (await cli('demo', '--help')).out;
  assert.match(helpText, /deprecated \(removed in the next release\):\n {2}--draw N {2}use --num-drawn N/);
});

test('conventions: the executable exits with the code runCli returns', () => {
  const run = (...argv: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], { encoding: 'utf8' });
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const v = run('--version');
  assert.deepEqual([v.status, v.stdout], [0, `${version}\n`]);
  const bad = run('train', '--confg', 'x.json');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^ghmdet train: unknown option '--confg' \(did you mean --config\?\)/);
});

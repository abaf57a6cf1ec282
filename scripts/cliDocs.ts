/**
 * Writes docs/cli.md from the command definitions (src/cli/): the conventions, the exit codes, the flags across
 * commands, the deprecated spellings and every command's help page. `npm run docs:cli` runs it;
 * test/cli/docs.test.ts fails while the committed file differs from what this renders.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { commandPath, deprecatedFlags, showPlaceholders, type Command } from '../src/cli/command.js';
import { buildProgram, runCli } from '../src/cli/program.js';

export const CLI_DOCS = 'docs/cli.md';

/** Help pages are rendered at this width (the terminal's width otherwise). */
const HELP_WIDTH = 100;

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

async function helpPage(cmd: Command): Promise<string> {
  let out = '';
  const path = commandPath(cmd).split(' ').slice(1);
  const code = await runCli([...path, '--help'], {
    out: (t) => void (out += t),
    err: () => {},
    helpWidth: HELP_WIDTH,
  });
  if (code !== 0) throw new Error(`${commandPath(cmd)} --help exited ${code}`);
  return out.trimEnd();
}

const code = (s: string) => `\`${s}\``;
/** A code span inside a table cell: its `|` escaped. */
const cell = (s: string) => code(s).replaceAll('|', '\\|');

function flagTable(commands: Command[]): string[] {
  const uses = new Map<string, Map<string, string[]>>();
  for (const cmd of commands)
    for (const o of cmd.options.filter((o) => !o.hidden && o.long !== undefined && o.long !== '--help')) {
      const value = /<([^>]+)>/.exec(o.flags)?.[1] ?? '';
      const byValue = uses.get(o.long!) ?? new Map<string, string[]>();
      byValue.set(value, [
        ...(byValue.get(value) ?? []),
        commandPath(cmd).replace(/^ghmdet ?/, '') || 'ghmdet',
      ]);
      uses.set(o.long!, byValue);
    }
  const rows = [...uses].sort(([a], [b]) => a.localeCompare(b));
  return [
    '| flag | value | commands |',
    '| --- | --- | --- |',
    ...rows.map(
      ([flag, byValue]) =>
        `| ${code(flag)} | ${[...byValue.keys()].map((v) => (v === '' ? '(switch)' : cell(v))).join(' / ')} | ` +
        `${[...byValue.values()].map((cs) => cs.join(', ')).join(' / ')} |`,
    ),
  ];
}

export async function renderCliDocs(): Promise<string> {
  const program = buildProgram();
  const commands = allCommands(program);
  const deprecated = commands.flatMap((cmd) =>
    deprecatedFlags(cmd).map(
      ([old, current]) => `| ${code(commandPath(cmd))} | ${code(old)} | ${code(current)} |`,
    ),
  );
  const lines = [
    '# The ghmdet command line',
    '',
    "`ghmdet` is the package's executable. In a clone, after `npm install`, run it as `npx ghmdet COMMAND`",
    '(`npm start` runs `ghmdet demo`). This page is generated from the command definitions in `src/cli/` by',
    '`npm run docs:cli`; a test fails while it is out of date.',
    '',
    '## Conventions',
    '',
    '- `ghmdet --help` lists the commands; `ghmdet COMMAND --help` (or `-h`, or `ghmdet help COMMAND`) shows a',
    "  command's usage line and flags; `ghmdet --version` (or `-V`) prints the version.",
    '- Values have named placeholders: `N` an integer, `FRACTION` and `SCORE` numbers in [0, 1], `FILE` and `DIR`',
    '  paths, `NAME`, `NAMES` (comma-separated) and `TEXT` words, `SPEC` a small syntax the flag describes.',
    '  `--flag VALUE` and `--flag=VALUE` are the same.',
    '- Errors are one line on stderr, `ghmdet COMMAND: message` (`ghmdet data check: ...`), then a pointer to the',
    '  help. A misspelt command or flag gets the closest one suggested (`ghmdet trian` -> `train`, `--confg` ->',
    '  `--config`).',
    '- A positional argument that a command does not take is an error, never ignored:',
    '  `ghmdet train configs/x.json` suggests `--config configs/x.json`.',
    '- `ghmdet` or `ghmdet data` without a command prints the usage to stderr and exits 2: as with git and npm, a',
    '  missing command is an error.',
    '- A flag name means the same thing in every command (the table below). A renamed flag keeps its old spelling',
    '  for one release, with a warning on stderr.',
    '',
    '## Exit codes',
    '',
    '| code | meaning |',
    '| --- | --- |',
    '| 0 | success |',
    '| 1 | failure: bad input data, a failed check (`conformance`), an error while running |',
    '| 2 | usage error: unknown command or flag, missing or bad value, unexpected argument, flags that exclude each other |',
    '| 130 | interrupted (Ctrl-C): `train` and `demo` finish the step and save a checkpoint first (`--resume` continues); a second Ctrl-C, or Ctrl-C in another command, ends the process at once |',
    '',
    '## Flags across commands',
    '',
    '`--out` names what the command writes: a folder (`DIR`) for the commands that write several files, a file',
    '(`FILE`) for those that write one.',
    '',
    ...flagTable(commands),
    '',
    '## Deprecated spellings',
    '',
    'They work until the next release, with a warning; giving both spellings is a usage error.',
    '',
    '| command | old spelling | use |',
    '| --- | --- | --- |',
    ...deprecated,
    '',
    '## Commands',
    '',
  ];
  for (const cmd of commands) {
    lines.push(`### ${commandPath(cmd)}`, '', '```text', showPlaceholders(await helpPage(cmd)), '```', '');
  }
  const options = (await prettier.resolveConfig(CLI_DOCS)) ?? {};
  return prettier.format(lines.join('\n'), { ...options, filepath: CLI_DOCS });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(CLI_DOCS, await renderCliDocs());
  console.log(`wrote ${CLI_DOCS}`);
}

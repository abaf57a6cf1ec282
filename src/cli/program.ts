/**
 * The `ghmdet` command line: the root command, the list of commands (one file each under src/cli/) and `runCli`,
 * which runs one command line and reports its errors the project's way (conventions: src/cli/command.ts).
 */
import { readFileSync } from 'node:fs';
import { PROGRAM, newGroup, reportError, runCommand, type CliOutput, type Command } from './command.js';
import * as analyze from './analyze.js';
import * as conformance from './conformance.js';
import * as data from './data.js';
import * as demo from './demo.js';
import * as evalCommand from './eval.js';
import * as experiment from './experiment.js';
import * as exportConfig from './exportConfig.js';
import * as importCommand from './import.js';
import * as predict from './predict.js';
import * as report from './report.js';
import * as train from './train.js';

/** The commands, in the order `ghmdet --help` lists them. */
export const COMMANDS: readonly { command(): Command }[] = [
  demo,
  train,
  predict,
  evalCommand,
  importCommand,
  exportConfig,
  data,
  analyze,
  report,
  experiment,
  conformance,
];

/** ghmdet's version, from its package.json (two folders up from src/cli/ and dist/cli/). */
export function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  return newGroup(
    PROGRAM,
    {
      summary: 'Gradient Harmonized single-stage detector (GHM-C, GHM-R) on TensorFlow.js',
      usage: 'COMMAND [options]',
    },
    COMMANDS.map((m) => m.command()),
  )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand('help [COMMAND]', 'show the help of a command')
    .addHelpText(
      'after',
      "\nghmdet COMMAND --help shows a command's flags.\n" +
        'exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C).',
    );
}

const stdio: CliOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs one `ghmdet` command line (`argv` without `ghmdet`); resolves to its exit code, errors reported on `io.err`. */
export async function runCli(argv: readonly string[], io: CliOutput = stdio): Promise<number> {
  const program = buildProgram();
  try {
    return await runCommand(program, argv, io);
  } catch (err) {
    return reportError(program, err, io);
  }
}

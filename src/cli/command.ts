/**
 * The conventions every `ghmdet` command follows, in one place, on commander:
 *
 * - help: `-h, --help` on every command and subcommand, a `usage:` line, value placeholders named in capitals
 *   (`--config FILE`, `--out DIR`, `--iters N`); `ghmdet --version` / `-V`;
 * - errors: one line `ghmdet <command>: message` on stderr (`ghmdet data check: ...`), "did you mean" for unknown
 *   commands and flags, and no silently ignored positional argument;
 * - exit codes (`EXIT`): 0 success, 1 failure, 2 usage error, 130 interrupted;
 * - flag names: one meaning across commands (docs/cli.md lists them); a renamed flag keeps its old spelling for one
 *   release with a warning (`deprecatedAlias`).
 *
 * Adding a command: write src/cli/NAME.ts exporting `command(): Command`, built as
 *
 *     newCommand('name', { summary: 'one line for the command list', usage: '--in FILE [options]' })
 *       .addOption(required(new Option('--in <FILE>', 'what it reads')))
 *       .addOption(new Option('--iters <N>', 'how many').argParser(integer(1)).default(10))
 *
 * then `action(cmd, async (flags: NameFlags) => { ...; return EXIT.ok; })`, and `export const run = (argv) =>
 * runCommand(command(), argv)` for tests; list it in `COMMANDS` (src/cli/program.ts). A command with subcommands
 * is `newGroup(name, info, [sub1(), sub2()])` (src/cli/data.ts). Adding a flag is one more
 * `.addOption(...)`: a value placeholder in capitals inside `<>` (shown without them), a value parser from here
 * when it is not a plain string, the default with `.default(value)` (shown in the help). Check the flag tables in
 * docs/cli.md first: a name already used elsewhere must mean the same thing there. Renaming a flag: add the new
 * one and `deprecatedAlias(cmd, '--old <N>', '--new')`. `npm run docs:cli` rewrites docs/cli.md; a test fails
 * while it is out of date.
 *
 * Keep the top-level imports of a command file light (commander, this module, node builtins, `import type`):
 * import the heavy modules (TF.js, sharp, vega) inside the action, so `--help` and `--version` answer at once.
 */
import { Command, CommanderError, InvalidArgumentError, Option, type OutputConfiguration } from 'commander';
import { KNOWN_BACKENDS, resolveBackendName } from '../engine/backendNames.js';

export { Command, InvalidArgumentError, Option } from 'commander';

/** The exit codes of every command. */
export const EXIT = {
  ok: 0,
  /** The command ran and failed: bad input data, a failed check, an error while running. */
  failure: 1,
  /** The command line is wrong: unknown command or flag, missing or bad value, unexpected argument. */
  usage: 2,
  /** Stopped by Ctrl-C (SIGINT) after saving what it could: 128 + SIGINT, as a shell reports a killed process. */
  interrupted: 130,
} as const;

/** A wrong command line: reported as `ghmdet <command>: message` with exit code 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
  override name = 'UsageError';
}

/** Help or version was printed (exit 0), or a bare command's usage was (exit 2): nothing to report. */
class Printed extends Error {
  constructor(readonly exitCode: number) {
    super('(printed)');
  }
}

export interface CommandInfo {
  /** One line: the command list of `ghmdet --help`, and the help page's first paragraph. */
  summary: string;
  /** What follows `ghmdet <command>` on the usage line, e.g. `--config FILE [options]`. */
  usage: string;
  /** More paragraphs for the help page, below the summary. */
  details?: string;
  /**
   * The flag a stray positional argument most likely meant (`train configs/x.json` -> `--config`): the error
   * suggests it. Commands that take positional arguments declare them with `.argument()`.
   */
  positionalFlag?: string;
}

/** Placeholders are written `<FILE>` for commander and shown `FILE` (help, errors). */
export function showPlaceholders(text: string): string {
  return text.replace(/<([^<>]+)>/g, '$1');
}

/** The executable's name: the root command's, and the first word of every message. */
export const PROGRAM = 'ghmdet';

/** `ghmdet data shapes` for the `shapes` subcommand of `data` (also when it runs on its own, as in tests). */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  if (names[0] !== PROGRAM) names.unshift(PROGRAM);
  return names.join(' ');
}

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent !== null) c = c.parent;
  return c;
}

/** Per run (keyed by the root command): the command that ran or failed, and the exit code its action returned. */
const current = new WeakMap<Command, Command>();
const exitCodes = new WeakMap<Command, number>();

/** A command with the project's help layout, error handling and conventions; see the module comment. */
export function newCommand(name: string, info: CommandInfo): Command {
  const cmd = new Command(name)
    .summary(info.summary)
    .description(info.details === undefined ? info.summary : `${info.summary}\n\n${info.details}`)
    .usage(info.usage)
    .helpOption('-h, --help', 'show this help')
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .configureHelp({
      styleTitle: (title) => title.toLowerCase(),
      optionTerm: (option) => showPlaceholders(option.flags),
      optionDescription,
      argumentTerm: (argument) => `${argument.name()}${argument.variadic ? '...' : ''}`,
      subcommandTerm: (sub) => sub.name(),
    })
    .configureOutput({ outputError: () => {} }) // reported once, by `reportError`, in the project's format
    .exitOverride((err) => {
      throw fromCommander(cmd, err, info.positionalFlag);
    })
    .hook('preAction', (_hooked, actionCmd) => void current.set(rootOf(actionCmd), actionCmd));
  cmd.addHelpText('after', () => {
    const lines = deprecationLines(cmd);
    return lines.length === 0 ? '' : `\ndeprecated (removed in the next release):\n${lines.join('\n')}`;
  });
  return cmd;
}

/** A command that only groups subcommands (`ghmdet data`): bare, it prints its help to stderr and exits 2. */
export function newGroup(name: string, info: CommandInfo, subcommands: Command[]): Command {
  const cmd = newCommand(name, info);
  for (const sub of subcommands) cmd.addCommand(sub);
  return cmd;
}

/**
 * Options a command cannot run without, marked with `required(new Option(...))` (not commander's
 * `makeOptionMandatory`, which is checked before unknown flags and stray arguments: `analyze runs/a` would say
 * "--run DIR not specified" instead of "did you mean --run runs/a?"). Checked just before the action runs.
 */
const requiredOptions = new WeakSet<Option>();

export function required(option: Option): Option {
  requiredOptions.add(option);
  return option;
}

/** Throws a `UsageError` for the first option of `cmd` marked {@link required} that the command line left out. */
export function checkRequiredOptions(cmd: Command): void {
  for (const option of cmd.options.filter((o) => requiredOptions.has(o))) {
    if (cmd.getOptionValue(option.attributeName()) === undefined)
      throw new UsageError(`required option '${showPlaceholders(option.flags)}' not specified`);
  }
}

/** An option's description with its default, if it has one, as it would be typed: `(default: runs/default)`. */
function optionDescription(option: Option): string {
  const value: unknown = option.defaultValue;
  if (requiredOptions.has(option)) return `${option.description} (required)`;
  if (value === undefined) return option.description;
  const shown = option.defaultValueDescription ?? (Array.isArray(value) ? value.join(',') : String(value));
  return `${option.description} (default: ${shown})`;
}

/** Turns commander's exits into `Printed` (help, version) or `UsageError` (the message reworded). */
function fromCommander(cmd: Command, err: CommanderError, positionalFlag: string | undefined): Error {
  current.set(rootOf(cmd), cmd);
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return new Printed(EXIT.ok);
  if (err.code === 'commander.help') return new Printed(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  if (err.code === 'commander.excessArguments') {
    const extra = cmd.args.slice(cmd.registeredArguments.length);
    const first = JSON.stringify(extra[0]);
    return new UsageError(
      positionalFlag !== undefined
        ? `unexpected argument ${first} (did you mean ${positionalFlag} ${extra[0]}?)`
        : `unexpected argument ${first}; ${commandPath(cmd)} takes ` +
            (cmd.registeredArguments.length === 0
              ? 'no positional arguments'
              : `${cmd.registeredArguments.map((a) => a.name()).join(' ')} only`),
    );
  }
  const message = showPlaceholders(err.message)
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)$/, ' (did you mean $1?)');
  return new UsageError(message);
}

/**
 * Sets the command's action. `fn` gets the parsed flags (typed by the caller: the attribute names are the flags in
 * camelCase) and the positional arguments, and returns the exit code (`EXIT`); it throws `UsageError` for a wrong
 * command line that commander cannot see (two flags that exclude each other), any other error for a failure.
 */
export function action<Flags>(cmd: Command, fn: (flags: Flags, args: string[]) => Promise<number>): Command {
  return cmd.action(async () => {
    const root = rootOf(cmd);
    current.set(root, cmd);
    checkRequiredOptions(cmd);
    exitCodes.set(root, await fn(cmd.opts<Flags & Record<string, unknown>>(), cmd.args));
  });
}

/** Where a run's output goes: stdout and stderr unless a test captures them; a fixed help width for docs. */
export interface CliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
  helpWidth?: number;
}

function configureTree(cmd: Command, io: CliOutput): void {
  const config: OutputConfiguration = { writeOut: io.out, writeErr: io.err };
  if (io.helpWidth !== undefined) {
    config.getOutHelpWidth = () => io.helpWidth!;
    config.getErrHelpWidth = () => io.helpWidth!;
  }
  cmd.configureOutput({ ...cmd.configureOutput(), ...config });
  for (const sub of cmd.commands) configureTree(sub, io);
}

/**
 * Parses `argv` (the arguments after the command's name) and runs the action it selects; resolves to the exit
 * code. Errors reject: `UsageError` for the command line, anything else from the action as thrown. `runCli`
 * reports them; tests of one command call its `run(argv)`, which is this.
 */
export async function runCommand(cmd: Command, argv: readonly string[], io?: CliOutput): Promise<number> {
  if (io !== undefined) configureTree(cmd, io);
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof Printed) return err.exitCode;
    throw err;
  }
  return exitCodes.get(cmd) ?? EXIT.ok;
}

/** The command a run stopped in (for the error prefix): the one whose parse failed or whose action ran. */
export function commandOfRun(root: Command): Command {
  return current.get(root) ?? root;
}

/** `ghmdet <command>: message` (+ a hint for usage errors), and the exit code: 2 for usage, 1 otherwise. */
export function reportError(root: Command, err: unknown, io: CliOutput): number {
  const cmd = commandOfRun(root);
  const message = err instanceof Error ? err.message : String(err);
  io.err(`${commandPath(cmd)}: ${message}\n`);
  if (err instanceof UsageError) {
    io.err(`(${commandPath(cmd)} --help for usage)\n`);
    return EXIT.usage;
  }
  if (process.env['GHMDET_DEBUG'] && err instanceof Error) io.err(`${err.stack}\n`);
  return EXIT.failure;
}

// ---- deprecated spellings ----------------------------------------------------------------------------------

interface Deprecation {
  old: Option;
  current: Option;
}
const deprecations = new WeakMap<Command, Deprecation[]>();

function deprecationLines(cmd: Command): string[] {
  return (deprecations.get(cmd) ?? []).map(
    ({ old, current }) => `  ${showPlaceholders(old.flags)}  use ${showPlaceholders(current.flags)}`,
  );
}

/** The deprecated spellings of `cmd`'s flags, for docs/cli.md: `[old flags, new flags]`. */
export function deprecatedFlags(cmd: Command): [string, string][] {
  return (deprecations.get(cmd) ?? []).map(({ old, current }) => [
    showPlaceholders(old.flags),
    showPlaceholders(current.flags),
  ]);
}

/**
 * Keeps `oldFlags` (e.g. `--draw <N>`) working as a hidden spelling of the flag `current` (already added to
 * `cmd`) for one release: it parses the same way, sets the same value, and warns on stderr. Giving both is a
 * usage error. The help page lists it under "deprecated".
 */
export function deprecatedAlias(cmd: Command, oldFlags: string, currentLong: string): Command {
  const currentOption = cmd.options.find((o) => o.long === currentLong);
  if (currentOption === undefined)
    throw new Error(`deprecatedAlias: ${currentLong} is not a flag of ${cmd.name()}`);
  const old = new Option(oldFlags, `old spelling of ${currentLong}`).hideHelp();
  if (currentOption.parseArg !== undefined) old.argParser(currentOption.parseArg);
  cmd.addOption(old);
  deprecations.set(cmd, [...(deprecations.get(cmd) ?? []), { old, current: currentOption }]);
  cmd.hook('preAction', (_hooked, actionCmd) => {
    if (actionCmd !== cmd) return;
    const value: unknown = cmd.getOptionValue(old.attributeName());
    if (value === undefined) return;
    if (cmd.getOptionValueSource(currentOption.attributeName()) === 'cli') {
      throw new UsageError(`give ${currentLong} or its old spelling ${old.long}, not both`);
    }
    cmd.configureOutput().writeErr!(
      `${commandPath(cmd)}: ${old.long} is deprecated, use ${showPlaceholders(currentOption.flags)} ` +
        `(${old.long} goes in the next release)\n`,
    );
    cmd.setOptionValueWithSource(currentOption.attributeName(), value, 'cli');
  });
  return cmd;
}

// ---- value parsers (commander reports their errors as `option '--x N' argument 'v' is invalid. ...`) ------------

/** An integer >= `min`. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`Expected an integer >= ${min}.`);
    return n;
  };
}

/** A number in [lo, hi]. */
export function numberIn(lo: number, hi: number): (value: string) => number {
  return (value) => {
    const x = Number(value);
    if (value.trim() === '' || !(x >= lo && x <= hi))
      throw new InvalidArgumentError(`Expected a number in [${lo}, ${hi}].`);
    return x;
  };
}

/** A comma-separated list (`a,b, c` -> `['a', 'b', 'c']`), empty items dropped. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `--backend NAME`, the same on every command that computes. */
export function backendOption(): Option {
  return new Option(
    '--backend <NAME>',
    `TF.js backend, one of ${KNOWN_BACKENDS.join(', ')} (default: $GHMDET_BACKEND, else the first of ` +
      'tensorflow, wasm, cpu that starts)',
  ).argParser((value) => {
    try {
      return resolveBackendName(value, '--backend');
    } catch {
      throw new InvalidArgumentError(`Expected one of ${KNOWN_BACKENDS.join(', ')}.`);
    }
  });
}

// ---- Ctrl-C ----------------------------------------------------------------------------------------------------

/**
 * While `fn` runs, the first Ctrl-C aborts the signal it gets (a training run finishes its step and saves a
 * checkpoint; the command then exits `EXIT.interrupted`); a second one ends the process at once.
 */
export async function withInterrupt<T>(
  log: (line: string) => void,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    log('interrupt: finishing this step and saving a checkpoint (again to quit at once)');
    controller.abort();
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

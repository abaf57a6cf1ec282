/**
 * `ghmdet` command lines as the documentation shows them, checked without running them: `parseCli` parses one
 * with the real command definitions (src/cli/) whose actions are swapped for a recorder, and `effects` says which
 * paths the command would read and which it would write, so a page's commands can be followed in order.
 */
import { readFileSync } from 'node:fs';
import { join, normalize, relative } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { resolveShapesOptions, type ShapesOptions } from '../../src/data/shapes.js';
import { buildProgram } from '../../src/cli/program.js';
import { shapesOptionsOf, type ShapesFlags } from '../../src/cli/data.js';
import { DEFAULT_CONFIG } from '../../src/cli/demo.js';
import { checkRequiredOptions, reportError, runCommand, type Command } from '../../src/cli/command.js';

export interface ParsedCli {
  code: number;
  out: string;
  err: string;
  /** The command that would run, e.g. `['data', 'shapes']`; null when none would (help, version, an error). */
  path: string[] | null;
  /** Its flags, defaults filled in, as the action would get them. */
  flags: Record<string, unknown>;
  /** Its positional arguments. */
  args: string[];
}

/** Parses `argv` (the words after `ghmdet`) as `ghmdet` would, running no command. */
export async function parseCli(argv: readonly string[]): Promise<ParsedCli> {
  const program = buildProgram();
  let ran: Pick<ParsedCli, 'path' | 'flags' | 'args'> = { path: null, flags: {}, args: [] };
  const record = (cmd: Command, prefix: string[]): void => {
    for (const sub of cmd.commands) {
      const path = [...prefix, sub.name()];
      if (sub.commands.length > 0) record(sub, path);
      else
        sub.action(() => {
          checkRequiredOptions(sub);
          ran = { path, flags: sub.opts(), args: [...sub.args] };
        });
    }
  };
  record(program, []);
  let out = '';
  let err = '';
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
  let code: number;
  try {
    code = await runCommand(program, argv, io);
  } catch (e) {
    code = reportError(program, e, io);
  }
  return { code, out, err, ...ran };
}

/** What a command leaves at a path it writes, which decides what can be read inside it later. */
export type WrittenKind = 'shapes dataset' | 'run folder' | 'folder' | 'file';

export interface Write {
  path: string;
  kind: WrittenKind;
  /** A shapes dataset's resolved generator options (JSON), so two writers of one dataset can be compared. */
  shapes?: string;
  /** A training that continues the run folder (`--resume`). */
  resume?: boolean;
}

export interface Effects {
  reads: string[];
  writes: Write[];
}

/** What can be read inside a written path of each kind (besides the path itself). */
export const READABLE_INSIDE: Record<WrittenKind, readonly string[]> = {
  'shapes dataset': [
    'train',
    'val',
    'annotations',
    'annotations/instances_train.json',
    'annotations/instances_val.json',
  ],
  'run folder': [
    'config.json',
    'log.jsonl',
    'eval.json',
    'results_val.json',
    'model.json',
    'drawn',
    'analysis',
  ],
  folder: [],
  file: [],
};

export const pathOf = (p: string): string => normalize(p).replace(/\/+$/, '');

/** The dataset a config trains on: a shapes dataset it writes (generates), or a folder it reads. */
function datasetOf(configFile: string, root: string, dataOverride: unknown): Effects {
  const config = parseConfig(JSON.parse(readFileSync(join(root, configFile), 'utf8')), configFile);
  const dir = pathOf(typeof dataOverride === 'string' ? dataOverride : config.data.root);
  if (config.data.type !== 'shapes') return { reads: [dir], writes: [] };
  const shapes = JSON.stringify(resolveShapesOptions(config.data.shapes as ShapesOptions));
  return { reads: [], writes: [{ path: dir, kind: 'shapes dataset', shapes }] };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? pathOf(v) : undefined);
const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

/**
 * The paths a parsed command reads and writes, relative to `root` (the repository), which holds the config files
 * and experiment files the command names.
 */
export function effects(parsed: ParsedCli, root: string): Effects {
  const f = parsed.flags;
  const name = (parsed.path ?? []).join(' ');
  switch (name) {
    case 'demo':
    case 'train': {
      const resume = f['resume'] === true;
      const config = str(f['config']) ?? (name === 'demo' ? relative(root, DEFAULT_CONFIG) : undefined);
      const out =
        str(f['out']) ??
        (config === undefined ? undefined : join('runs', config.replace(/^.*\/|\.json$/g, '')));
      const data = config === undefined ? { reads: [], writes: [] } : datasetOf(config, root, f['data']);
      return {
        reads: [...defined([config]), ...(resume && out !== undefined ? [out] : []), ...data.reads],
        writes: [
          ...data.writes,
          ...defined([out]).map((path) => ({ path, kind: 'run folder' as const, resume })),
        ],
      };
    }
    case 'predict':
      return {
        reads: defined([str(f['run']), ...((f['images'] as string[] | undefined) ?? []).map(str)]),
        writes: [
          ...defined([str(f['out'])]).map((path) => ({ path, kind: 'file' as const })),
          ...defined([str(f['draw'])]).map((path) => ({ path, kind: 'folder' as const })),
        ],
      };
    case 'eval':
      return { reads: defined([str(f['gt']), str(f['dt']), str(f['run']), str(f['data'])]), writes: [] };
    case 'data shapes': {
      const shapes = JSON.stringify(resolveShapesOptions(shapesOptionsOf(f as unknown as ShapesFlags)));
      return { reads: [], writes: [{ path: str(f['out'])!, kind: 'shapes dataset', shapes }] };
    }
    case 'data check':
      return { reads: defined([str(f['coco']), str(f['images']), str(f['voc'])]), writes: [] };
    case 'analyze':
      return { reads: defined([str(f['run'])]), writes: [] };
    case 'report':
      return {
        reads: parsed.args.map(pathOf),
        writes: [
          ...defined([str(f['out'])]).map((path) => ({ path, kind: 'file' as const })),
          ...defined([str(f['svgDir'])]).map((path) => ({ path, kind: 'folder' as const })),
        ],
      };
    case 'experiment': {
      const file = pathOf(parsed.args[0]!);
      if (f['dryRun'] === true) return { reads: [file], writes: [] };
      const declared = (JSON.parse(readFileSync(join(root, file), 'utf8')) as { out?: string }).out;
      return {
        reads: [file],
        writes: defined([str(f['out']) ?? str(declared)]).map((path) => ({ path, kind: 'folder' })),
      };
    }
    case 'conformance':
      return { reads: [pathOf(parsed.args[0]!)], writes: [] };
    case '':
      return { reads: [], writes: [] }; // help or version
    default:
      throw new Error(`effects: no model of what 'ghmdet ${name}' reads and writes; add it here`);
  }
}

/**
 * Flags of the bench scripts, on `node:util` `parseArgs` (strict: an unknown flag or a stray argument is an
 * error): `--name value`, `--name=value` and boolean `--flag`; `intFlag` / `stringFlag` read them with errors that
 * name the flag. (The `ghmdet` CLI has its own conventions: src/cli/command.ts.)
 */
import { parseArgs as nodeParseArgs } from 'node:util';

export interface FlagSpec {
  /** `string` takes a value, `boolean` does not. */
  type: 'string' | 'boolean';
  description: string;
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | undefined>;
}

export function parseArgs(command: string, argv: string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const options = Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, { type: s.type }]));
  try {
    const { values } = nodeParseArgs({ args: argv, options, strict: true, allowPositionals: false });
    return { flags: values as ParsedArgs['flags'] };
  } catch (err) {
    const known = Object.keys(spec).map((k) => `--${k}`);
    throw new Error(`${command}: ${(err as Error).message}; known options: ${known.join(', ') || '(none)'}`);
  }
}

/** Reads an integer flag, with a clear error naming the flag. */
export function intFlag(command: string, args: ParsedArgs, name: string, fallback: number, min = 0): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min) {
    throw new Error(`${command}: --${name} expects an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A small, strict argument parser shared by the CLI commands: `--name value`, `--name=value`, boolean
 * `--flag`, and positionals. Unknown flags are errors that name the flag and list the known ones.
 */
export interface FlagSpec {
  /** `string` takes a value, `boolean` does not; `list` takes a value and may repeat. */
  type: 'string' | 'boolean' | 'list';
  description: string;
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseArgs(command: string, argv: string[], spec: Record<string, FlagSpec>): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const s = spec[name];
    if (s === undefined) {
      const known = Object.keys(spec).map((k) => `--${k}`);
      throw new Error(`${command}: unknown option --${name}; known options: ${known.join(', ') || '(none)'}`);
    }
    if (s.type === 'boolean') {
      if (eq !== -1)
        throw new Error(`${command}: --${name} takes no value, got ${JSON.stringify(a.slice(eq + 1))}`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq === -1 && value.startsWith('--'))) {
      throw new Error(`${command}: --${name} expects a value`);
    }
    if (s.type === 'list') {
      const prev = flags[name];
      flags[name] = [...(Array.isArray(prev) ? prev : []), value];
    } else flags[name] = value;
  }
  return { flags, positionals };
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

export function helpText(command: string, summary: string, spec: Record<string, FlagSpec>): string {
  const lines = [`ghmdet ${command}: ${summary}`, ''];
  for (const [k, s] of Object.entries(spec)) {
    lines.push(`  --${k}${s.type === 'boolean' ? '' : ' <value>'}`.padEnd(28) + s.description);
  }
  return lines.join('\n');
}

/**
 * zod issues -> one line each, `path: message`, for config errors: the full field path from the config's root
 * (`model.head.stacked_convs`, `train.lr_config.step[1]`) and, for an unknown key, the known keys of its
 * section with a suggestion when one is close (`did you mean \`stackedConvs\`?`, see didYouMean.ts).
 */
import * as z from 'zod';
import { didYouMean } from './didYouMean.js';

/** `['train', 'lr_config', 'step', 1]` -> `train.lr_config.step[1]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
}

/** A value for a message: JSON, cut to 60 characters. */
function describe(v: unknown): string {
  const s = v === undefined ? 'nothing' : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The schema with its wrappers (optional, nullable, default, prefault, pipe) taken off. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.innerType !== undefined) s = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) s = def.in;
    else return s;
  }
}

/** The keys an object schema at `path` (inside `root`) knows, or [] when the path leads elsewhere. */
export function knownKeysAt(root: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let s = unwrap(root);
  for (const p of path) {
    const def = s._zod.def as unknown as {
      type: string;
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
      valueType?: z.core.$ZodType;
    };
    let next: z.core.$ZodType | undefined;
    if (def.type === 'object' && typeof p === 'string') next = def.shape?.[p];
    else if (def.type === 'array') next = def.element;
    else if (def.type === 'record') next = def.valueType;
    if (next === undefined) return [];
    s = unwrap(next);
  }
  return objectKeys(s);
}

/** The keys of an object schema, or of every object option of a union (`anchor_generator`'s two kinds). */
function objectKeys(schema: z.core.$ZodType): string[] {
  const def = schema._zod.def as unknown as {
    type: string;
    shape?: Record<string, unknown>;
    options?: z.core.$ZodType[];
  };
  if (def.type === 'object' && def.shape !== undefined) return Object.keys(def.shape);
  if (def.type === 'union' && def.options !== undefined)
    return [...new Set(def.options.flatMap((o) => objectKeys(unwrap(o))))];
  return [];
}

/** A message for an unknown `key` among `known` keys: the suggestion when one is close, else the list. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const hint = didYouMean(key, known);
  if (hint !== '') return `unknown key; ${hint}`;
  return known.length > 0 ? `unknown key; known keys: ${known.join(', ')}` : 'unknown key';
}

/**
 * One line per problem, `path: message`, with `prefix` (e.g. `['model']`) put before every path. An unknown key
 * gets a line of its own, its path ending at the key. `schema` is the one that produced the issues; parse with
 * `{ reportInput: true }` so that each line can say what was got.
 */
export function issueLines(
  schema: z.core.$ZodType,
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys)
        lines.push(`${fieldPath([...prefix, ...issue.path, key])}: ${unknownKeyMessage(key, known)}`);
    } else {
      const got = issue.code !== 'invalid_type' && 'input' in issue ? `, got ${describe(issue.input)}` : '';
      lines.push(`${fieldPath([...prefix, ...issue.path]) || '(root)'}: ${issue.message}${got}`);
    }
  }
  return lines;
}

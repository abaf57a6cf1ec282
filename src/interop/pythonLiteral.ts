/**
 * Python source for config values, in mmdetection's config style: `dict(key=value, ...)` for objects whose keys
 * are identifiers, `[...]` lists, `(...)` tuples where mmdetection expects one ({@link tuple}), `'...'` strings,
 * `True` / `False` / `None`, numbers as JavaScript prints them (valid Python literals: `0.01`, `1e-05`).
 */

/** A value written as a Python tuple: `(1333, 800)`. */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

export function tuple(...items: unknown[]): PyTuple {
  return new PyTuple(items);
}

/** A value written as-is: a name defined earlier in the file (`img_norm_cfg`, `dataset_type`). */
export class PyName {
  constructor(readonly name: string) {}
}

export function pyName(name: string): PyName {
  return new PyName(name);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function pyString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

function pyNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`pythonLiteral: ${n} has no Python literal`);
  return String(n);
}

/**
 * Python source of `value`, indented by `indent` spaces per level; short literals stay on one line (up to
 * `width` characters).
 */
export function pythonLiteral(value: unknown, indent = 0, width = 100): string {
  const flat = inline(value);
  if (flat.length + indent <= width) return flat;
  const pad = ' '.repeat(indent + 4);
  const close = ' '.repeat(indent);
  if (value instanceof PyTuple || Array.isArray(value)) {
    const items = value instanceof PyTuple ? value.items : value;
    const [open, end] = value instanceof PyTuple ? ['(', ')'] : ['[', ']'];
    return `${open}\n${items.map((v) => `${pad}${pythonLiteral(v, indent + 4, width)},`).join('\n')}\n${close}${end}`;
  }
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.every(([k]) => IDENTIFIER.test(k)))
      return `dict(\n${entries.map(([k, v]) => `${pad}${k}=${pythonLiteral(v, indent + 4, width)},`).join('\n')}\n${close})`;
    return `{\n${entries.map(([k, v]) => `${pad}${pyString(k)}: ${pythonLiteral(v, indent + 4, width)},`).join('\n')}\n${close}}`;
  }
  return flat;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof PyTuple) &&
    !(v instanceof PyName)
  );
}

function inline(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'string') return pyString(value);
  if (value instanceof PyName) return value.name;
  if (value instanceof PyTuple)
    return value.items.length === 1
      ? `(${inline(value.items[0])},)`
      : `(${value.items.map(inline).join(', ')})`;
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.every(([k]) => IDENTIFIER.test(k)))
      return `dict(${entries.map(([k, v]) => `${k}=${inline(v)}`).join(', ')})`;
    return `{${entries.map(([k, v]) => `${pyString(k)}: ${inline(v)}`).join(', ')}}`;
  }
  throw new Error(`pythonLiteral: cannot write a ${typeof value}`);
}

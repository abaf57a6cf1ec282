/**
 * A small parser of mmdetection-style Python config files, for tests: top-level `name = value` assignments whose
 * values are literals (numbers, strings, True/False/None), lists, tuples (read as arrays), `{...}` dicts,
 * `dict(key=value, ...)` calls and names assigned earlier. Comments and blank lines are skipped; anything else is
 * an error with its position, so a test fails on a file mmdetection could not read as data either.
 */
export type PyValue = number | string | boolean | null | PyValue[] | { [k: string]: PyValue };

export function parsePythonConfig(text: string): Record<string, PyValue> {
  const env: Record<string, PyValue> = {};
  let i = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`python config, line ${line}: ${what} at ${JSON.stringify(text.slice(i, i + 30))}`);
  };
  const skip = (newlines: boolean): void => {
    for (;;) {
      const c = text[i];
      if (c === '#') while (i < text.length && text[i] !== '\n') i++;
      else if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) i++;
      else return;
    }
  };
  const identifier = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (m === null) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const expect = (s: string): void => {
    skip(true);
    if (!text.startsWith(s, i)) fail(`expected ${JSON.stringify(s)}`);
    i += s.length;
  };
  /** Items up to `close`, separated by commas (a trailing comma allowed). */
  const items = <T>(close: string, item: () => T): T[] => {
    const out: T[] = [];
    for (;;) {
      skip(true);
      if (text.startsWith(close, i)) {
        i += close.length;
        return out;
      }
      out.push(item());
      skip(true);
      if (text[i] === ',') i++;
      else if (!text.startsWith(close, i)) fail(`expected ',' or '${close}'`);
    }
  };
  const str = (): string => {
    const q = text[i]!;
    i++;
    let s = '';
    while (text[i] !== q) {
      if (i >= text.length) fail('unterminated string');
      if (text[i] === '\\') {
        const e = text[i + 1]!;
        s += e === 'n' ? '\n' : e;
        i += 2;
      } else s += text[i++];
    }
    i++;
    return s;
  };
  const value = (): PyValue => {
    skip(true);
    const c = text[i];
    if (c === "'" || c === '"') return str();
    if (c === '[') {
      i++;
      return items(']', value);
    }
    if (c === '(') {
      i++;
      return items(')', value);
    }
    if (c === '{') {
      i++;
      return Object.fromEntries(
        items('}', () => {
          skip(true);
          const k = str();
          expect(':');
          return [k, value()] as const;
        }),
      );
    }
    const num = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(text.slice(i));
    if (num !== null) {
      i += num[0].length;
      return Number(num[0]);
    }
    const name = identifier();
    if (name === 'True') return true;
    if (name === 'False') return false;
    if (name === 'None') return null;
    if (name === 'dict') {
      expect('(');
      return Object.fromEntries(
        items(')', () => {
          skip(true);
          const k = identifier();
          expect('=');
          return [k, value()] as const;
        }),
      );
    }
    if (name in env) return env[name]!;
    return fail(`unknown name ${name}`);
  };
  for (;;) {
    skip(true);
    if (i >= text.length) return env;
    const name = identifier();
    expect('=');
    env[name] = value();
    skip(false);
    if (i < text.length && text[i] !== '\n') fail('expected the end of the line');
  }
}

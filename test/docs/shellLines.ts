/**
 * The commands of a shell code block, as words: lines joined at a trailing backslash, `# comments` dropped,
 * `a && b` split into two commands, single and double quotes honoured. Anything else a shell would interpret
 * (pipes, redirections, `;`, substitutions, globs, braces) is an error: a documented command must be one that
 * the tests can check word for word.
 */

export interface ShellCommand {
  /** The words, quotes removed: `['npx', 'ghmdet', 'train', '--config', 'a.json']`. */
  argv: string[];
  /** The source line, for messages. */
  text: string;
}

/** The block's commands; with `only`, the lines it rejects are skipped without being read. */
export function shellCommands(lines: readonly string[], only?: (line: string) => boolean): ShellCommand[] {
  const joined: string[] = [];
  let pending = '';
  for (const line of lines) {
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    joined.push(pending + line);
    pending = '';
  }
  if (pending !== '') joined.push(pending);
  return joined
    .filter((text) => only === undefined || only(text))
    .flatMap((text) => splitCommands(words(text), text));
}

function splitCommands(tokens: string[], text: string): ShellCommand[] {
  const out: ShellCommand[] = [];
  let current: string[] = [];
  for (const token of tokens) {
    if (token === '&&') {
      out.push({ argv: current, text });
      current = [];
    } else {
      current.push(token);
    }
  }
  if (current.length > 0) out.push({ argv: current, text });
  if (out.some((c) => c.argv.length === 0)) throw new Error(`an empty command around && in: ${text}`);
  return out;
}

/** Splits one line into words; `&&` is a word of its own; a word starting with `#` starts a comment. */
function words(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unclosed ${c} in: ${text}`);
      const quoted = text.slice(i + 1, end);
      if (c === '"' && /[$`\\]/.test(quoted)) throw new Error(`shell expansion inside "..." in: ${text}`);
      word += quoted;
      inWord = true;
      i = end;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break;
    } else if (c === '&' && text[i + 1] === '&' && !inWord) {
      out.push('&&');
      i++;
    } else if (/[|;<>$`\\*?{}()&~]/.test(c)) {
      throw new Error(`'${c}' is shell syntax the documentation tests do not interpret, in: ${text}`);
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}

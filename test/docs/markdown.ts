/**
 * The pieces of a Markdown page that the documentation tests check: fenced code blocks, links, and the anchors
 * GitHub gives its headings. Enough Markdown for this repository's pages (prettier-formatted: fences at the start
 * of a line, no nested fences), not a general parser.
 */

export interface CodeBlock {
  /** The fence's language, e.g. `sh`, `js`; '' when none. */
  lang: string;
  /** The block's lines, without the fences. */
  lines: string[];
  /** 1-based line of the opening fence in the page. */
  line: number;
}

export function codeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: CodeBlock | null = null;
  text.split('\n').forEach((line, i) => {
    const fence = /^```(.*)$/.exec(line);
    if (open === null) {
      if (fence !== null) open = { lang: fence[1]!.trim().split(/\s+/)[0] ?? '', lines: [], line: i + 1 };
    } else if (line === '```') {
      blocks.push(open);
      open = null;
    } else {
      open.lines.push(line);
    }
  });
  if (open !== null) throw new Error(`code block opened at line ${(open as CodeBlock).line} is never closed`);
  return blocks;
}

/** The page with its code blocks' lines blanked (line numbers kept). */
function withoutBlocks(text: string): string[] {
  let inBlock = false;
  return text.split('\n').map((line) => {
    if (line.startsWith('```')) {
      inBlock = !inBlock;
      return '';
    }
    return inBlock ? '' : line;
  });
}

export interface Link {
  target: string;
  /** 1-based line in the page. */
  line: number;
}

/** Every `[text](target)` and `![alt](target)` of the page's prose. */
export function links(text: string): Link[] {
  const out: Link[] = [];
  withoutBlocks(text).forEach((line, i) => {
    // links inside inline code are not links
    for (const m of line.replace(/`[^`]*`/g, '``').matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g))
      out.push({ target: m[1]!, line: i + 1 });
  });
  return out;
}

/** The anchors of the page's headings as GitHub makes them (`## The config file` -> `the-config-file`). */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of withoutBlocks(text)) {
    const m = /^#{1,6}\s+(.*?)\s*$/.exec(line);
    if (m === null) continue;
    const base = m[1]!
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/**
 * The package tests import ghmdet through its `exports` (dist/), as users do: this rebuilds dist/ first when a
 * source file is newer than its output, so they never test stale code.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** The first source whose dist/ output is missing or older, or null when dist/ is current. */
export function staleSource(): string | null {
  for (const src of sources(join(ROOT, 'src'))) {
    const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), src).replace(/\.ts$/, '.js'));
    let outTime: number;
    try {
      outTime = statSync(out).mtimeMs;
    } catch {
      return src;
    }
    if (statSync(src).mtimeMs > outTime) return src;
  }
  return null;
}

let checked = false;

/** Runs `npm run build` when dist/ is stale (once per process); fails with the compiler's output if it fails. */
export function ensureDistBuilt(): void {
  if (checked) return;
  const stale = staleSource();
  if (stale !== null) {
    const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(
        `dist/ is older than ${relative(ROOT, stale)} and npm run build failed:\n${r.stdout}${r.stderr}`,
      );
  }
  checked = true;
}

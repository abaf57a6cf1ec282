/**
 * `ghmdet conformance <dir>`: runs every `ghm-vectors/1` file (`*.json`) of a folder against the loss library
 * (see src/conformance/ghmVectors.ts), prints one line per file and, last, `N passed, M failed`. Exits 1 when a
 * file fails or the folder holds no vector file.
 */
import { setupBackend } from '../engine/backend.js';
import { formatResult, listVectorFiles, runVectorPath } from '../conformance/ghmVectors.js';
import { parseArgs, stringFlag, helpText, type FlagSpec } from './args.js';

export const summary = 'check the losses against a folder of ghm-vectors/1 reference files';

const spec: Record<string, FlagSpec> = {
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  verbose: { type: 'boolean', description: 'print every failure reason, not only the first three' },
  help: { type: 'boolean', description: 'show this help (usage: ghmdet conformance <dir> [options])' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('conformance', argv, spec);
  if (args.flags['help']) {
    console.log(helpText('conformance', summary, spec));
    return 0;
  }
  const [dir, ...extra] = args.positionals;
  if (dir === undefined || extra.length > 0) {
    console.error(
      `conformance: expected exactly one vector folder, got ${args.positionals.length}; usage: ghmdet conformance <dir>`,
    );
    return 2;
  }
  const files = listVectorFiles(dir);
  await setupBackend({ backend: stringFlag(args, 'backend'), log: (l) => console.log(l) });
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const r = runVectorPath(file);
    if (r.passed) passed++;
    else failed++;
    console.log(formatResult(r));
    if (args.flags['verbose'] && r.failures.length > 3)
      for (const f of r.failures.slice(3)) console.log(`    ${f}`);
  }
  if (files.length === 0) console.error(`conformance: no vector file (*.json) in ${dir}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || files.length === 0 ? 1 : 0;
}

/**
 * `ghmdet conformance DIR`: runs every `ghm-vectors/1` file (`*.json`) of a folder against the loss library
 * (see src/conformance/ghmVectors.ts), prints one line per file and, last, `N passed, M failed`. Exits 1 when a
 * file fails or the folder holds no vector file.
 */
import { EXIT, Option, action, backendOption, newCommand, runCommand, type Command } from './command.js';

interface ConformanceFlags {
  backend?: string;
  verbose?: boolean;
}

export function command(): Command {
  const cmd = newCommand('conformance', {
    summary: 'check the losses against a folder of ghm-vectors/1 reference files',
    usage: 'DIR [options]',
  })
    .argument('<DIR>', 'folder of ghm-vectors/1 files (*.json)')
    .addOption(backendOption())
    .addOption(new Option('--verbose', 'print every failure reason, not only the first three'));
  return action<ConformanceFlags>(cmd, conformance);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

async function conformance(flags: ConformanceFlags, [dir]: string[]): Promise<number> {
  const { setupBackend } = await import('../engine/backend.js');
  const { formatResult, listVectorFiles, runVectorPath } = await import('../conformance/ghmVectors.js');
  const files = listVectorFiles(dir!);
  await setupBackend({ backend: flags.backend, log: (l) => console.log(l) });
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const r = runVectorPath(file);
    if (r.passed) passed++;
    else failed++;
    console.log(formatResult(r));
    if (flags.verbose && r.failures.length > 3) for (const f of r.failures.slice(3)) console.log(`    ${f}`);
  }
  if (files.length === 0) console.error(`ghmdet conformance: no vector file (*.json) in ${dir}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 || files.length === 0 ? EXIT.failure : EXIT.ok;
}

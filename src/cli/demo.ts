/**
 * `ghmdet demo`: the main job placeholder until the detector exists: readies the backend and reports it.
 */
import { setupBackend } from '../engine/backend.js';
import { parseArgs, stringFlag, helpText, type FlagSpec } from './args.js';

export const summary = 'set up the backend and run the default job';

const spec: Record<string, FlagSpec> = {
  backend: { type: 'string', description: 'tensorflow | wasm | cpu (default: auto)' },
  help: { type: 'boolean', description: 'show this help' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('demo', argv, spec);
  if (args.flags['help']) {
    console.log(helpText('demo', summary, spec));
    return 0;
  }
  await setupBackend({ backend: stringFlag(args, 'backend'), log: (l) => console.log(l) });
  return 0;
}

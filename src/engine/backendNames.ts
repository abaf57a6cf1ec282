/**
 * The TensorFlow.js backend names ghmdet knows, and their validation, apart from `backend.ts` so that a caller
 * (the CLI's `--backend NAME`) can check a name without importing TF.js.
 */
export const KNOWN_BACKENDS = ['tensorflow', 'wasm', 'cpu', 'webgl', 'webgpu'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

/** `name` lower-cased with its aliases resolved (`node`, `tfjs-node` -> `tensorflow`); an error naming `where` otherwise. */
export function resolveBackendName(name: string, where: string): BackendName {
  const n = name.trim().toLowerCase();
  const aliases: Record<string, BackendName> = { node: 'tensorflow', 'tfjs-node': 'tensorflow' };
  const resolved = aliases[n] ?? n;
  if (!(KNOWN_BACKENDS as readonly string[]).includes(resolved)) {
    throw new Error(
      `${where}: unknown backend ${JSON.stringify(name)}; expected one of ${KNOWN_BACKENDS.join(', ')}`,
    );
  }
  return resolved as BackendName;
}

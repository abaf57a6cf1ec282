/**
 * Readies TensorFlow.js for this process: picks a backend, registers the project's training kernels on it,
 * and reports the choice.
 *
 * Order when nothing is asked for explicitly (Node):
 *   1. `tensorflow` when `@tensorflow/tfjs-node` can be imported (the user installed it),
 *   2. `wasm` (`@tensorflow/tfjs-backend-wasm`, with ghmdet's training kernels),
 *   3. `cpu`.
 * An explicit choice (the `backend` option, the CLI's `--backend`, or the `GHMDET_BACKEND` environment
 * variable, in that order) overrides the order; asking for a backend that cannot start is an error.
 * In a browser the order is `webgpu`, `webgl`, `wasm`, `cpu` among those registered.
 *
 * Importing this module changes nothing: `@tensorflow/tfjs` (gradients, `cpu`, `webgl`) and
 * `@tensorflow/tfjs-backend-wasm` are imported, which registers them with TF.js, only when `setupBackend` runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingKernels } from './kernels/index.js';
import { resolveBackendName } from './backendNames.js';

export { KNOWN_BACKENDS, type BackendName } from './backendNames.js';
export const BACKEND_ENV_VAR = 'GHMDET_BACKEND';

export interface BackendOptions {
  /** Backend to use; overrides the environment variable and the automatic order. */
  backend?: string;
  /** Called once with a one-line report of the choice, e.g. `backend: wasm (auto; tfjs-node not installed)`. */
  log?: (line: string) => void;
}

export interface BackendInfo {
  name: string;
  /** Why this backend: `option`, `env` or `auto`. */
  source: 'option' | 'env' | 'auto';
  /** Human-readable reason, for the report line. */
  reason: string;
  /** Names of the project kernels registered for this backend. */
  kernels: string[];
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

async function tryImportTfjsNode(): Promise<boolean> {
  if (!isNode) return false;
  // A variable specifier keeps bundlers and the type checker from requiring the optional package.
  const specifier = '@tensorflow/tfjs-node';
  try {
    await import(specifier);
    return tf.findBackend('tensorflow') !== null || tf.engine().registryFactory['tensorflow'] !== undefined;
  } catch {
    return false;
  }
}

/**
 * Backend packages ghmdet imports on demand. `@tensorflow/tfjs` brings the op gradients (tfjs-core alone has
 * none), the chained ops and the `cpu` and `webgl` backends; `webgpu` is the user's to import.
 */
const BACKEND_PACKAGES: Record<string, () => Promise<unknown>> = {
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
  cpu: () => import('@tensorflow/tfjs'),
  webgl: () => import('@tensorflow/tfjs'),
};

async function trySetBackend(name: string): Promise<boolean> {
  try {
    const load = BACKEND_PACKAGES[name];
    if (load !== undefined && tf.findBackendFactory(name) === null) await load();
    const ok = await tf.setBackend(name);
    if (!ok) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

let current: BackendInfo | null = null;

/**
 * Sets up the backend once per process (later calls with the same or no request return the first result;
 * a different explicit request switches backends).
 */
export async function setupBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const envValue = isNode ? process.env[BACKEND_ENV_VAR] : undefined;
  let requested: string | undefined;
  let source: BackendInfo['source'] = 'auto';
  if (options.backend !== undefined && options.backend !== '') {
    requested = resolveBackendName(options.backend, 'backend option');
    source = 'option';
  } else if (envValue !== undefined && envValue !== '') {
    requested = resolveBackendName(envValue, `environment variable ${BACKEND_ENV_VAR}`);
    source = 'env';
  }
  if (current !== null && (requested === undefined || requested === current.name)) {
    return current;
  }
  await import('@tensorflow/tfjs');

  let name: string;
  let reason: string;
  if (requested !== undefined) {
    if (requested === 'tensorflow' && !(await tryImportTfjsNode())) {
      throw new Error(
        `backend 'tensorflow' was requested (${source}) but @tensorflow/tfjs-node could not be imported; ` +
          `install it (npm install @tensorflow/tfjs-node@4.22.0) or choose 'wasm' or 'cpu'`,
      );
    }
    if (!(await trySetBackend(requested))) {
      throw new Error(
        `backend ${JSON.stringify(requested)} was requested (${source}) but could not be initialised`,
      );
    }
    name = requested;
    reason = source === 'option' ? 'requested' : `from ${BACKEND_ENV_VAR}`;
  } else if (isNode) {
    if ((await tryImportTfjsNode()) && (await trySetBackend('tensorflow'))) {
      name = 'tensorflow';
      reason = 'auto; @tensorflow/tfjs-node is installed';
    } else if (await trySetBackend('wasm')) {
      name = 'wasm';
      reason = 'auto; @tensorflow/tfjs-node not installed';
    } else if (await trySetBackend('cpu')) {
      name = 'cpu';
      reason = 'auto; wasm failed to initialise';
    } else {
      throw new Error('no TensorFlow.js backend could be initialised (tried tensorflow, wasm, cpu)');
    }
  } else {
    const order = ['webgpu', 'webgl', 'wasm', 'cpu'];
    const found = [];
    for (const b of order)
      if (tf.findBackendFactory(b) !== null || BACKEND_PACKAGES[b] !== undefined) found.push(b);
    let chosen: string | undefined;
    for (const b of found) {
      if (await trySetBackend(b)) {
        chosen = b;
        break;
      }
    }
    if (chosen === undefined)
      throw new Error(`no TensorFlow.js backend could be initialised (tried ${found.join(', ')})`);
    name = chosen;
    reason = 'auto';
  }

  const kernels = registerTrainingKernels(name);
  current = { name, source, reason, kernels };
  options.log?.(
    `backend: ${name} (${reason})` + (kernels.length > 0 ? `; training kernels: ${kernels.join(', ')}` : ''),
  );
  return current;
}

/** The backend chosen by `setupBackend`, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return current;
}

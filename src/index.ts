/**
 * ghmdet: the Gradient Harmonized Single-stage Detector on TensorFlow.js.
 * The package root re-exports the public API of each part.
 */
export { setupBackend, currentBackend, BACKEND_ENV_VAR, KNOWN_BACKENDS } from './engine/backend.js';
export type { BackendOptions, BackendInfo, BackendName } from './engine/backend.js';

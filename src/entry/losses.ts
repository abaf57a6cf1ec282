/**
 * `ghmdet/losses`: GHM-C, GHM-R, the gradient-density module they share, the baselines (BCE, sigmoid focal,
 * OHEM, smooth L1, L1, ASL1), the config factory and the `tf.layers` adapter.
 *
 * Imports `@tensorflow/tfjs-core` and zod only: no backend, no Node module, no image codec, so it bundles for
 * a browser and runs on whatever backend the application chose (cpu, wasm, webgl, webgpu, tensorflow).
 * Importing it registers nothing and changes no TF.js state.
 *
 * Training needs op gradients, which `@tensorflow/tfjs-core` alone does not register: import
 * `@tensorflow/tfjs` (the union package, which also brings the cpu and webgl backends) or
 * `@tensorflow/tfjs-node` in the application, once. ghmdet itself calls functional ops only (`tf.add(a, b)`,
 * never `a.add(b)`), so it needs no chained-op registration either.
 */
export * from '../losses/index.js';

/**
 * ghmdet: the Gradient Harmonized Single-stage Detector on TensorFlow.js.
 * The package root is `ghmdet/node` (Node's full set); browser-safe subsets are `ghmdet/losses`,
 * `ghmdet/detector` and `ghmdet/kernels` (see src/entry/).
 */
export * from './entry/node.js';

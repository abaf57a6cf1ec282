/**
 * `ghmdet/kernels`: ghmdet's training kernels and its BatchNorm op with a fused gradient.
 *
 * `registerTrainingKernels(backendName)` registers, for that backend only and only when called, the kernels a
 * convolutional detector needs to train there: on `wasm` the missing `Conv2DBackpropFilter` and
 * `UnsortedSegmentSum` and faster `Conv2DBackpropInput`, `BatchMatMul`, `_FusedMatMul`, `GatherV2`; on `cpu` a
 * fast `Conv2DBackpropFilter` and a corrected `ResizeNearestNeighborGrad`; nothing elsewhere. They are global
 * TF.js kernels, so any model (`tf.layers` too) uses them afterwards. Importing this module registers nothing.
 * In Node, `setupBackend()` (from `ghmdet/node` or `ghmdet`) picks a backend and calls it.
 *
 * Imports `@tensorflow/tfjs-core` only.
 */
export { registerTrainingKernels } from '../engine/kernels/index.js';
export { batchNormTraining } from '../engine/ops/batchNorm.js';
export type { BatchNormTrainingResult } from '../engine/ops/batchNorm.js';

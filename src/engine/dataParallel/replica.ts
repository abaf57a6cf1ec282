/**
 * The contract between the data-parallel orchestrator and the model it trains.
 *
 * A "replica module" is an ES module (TypeScript under tsx, JavaScript under dist) that exports
 * `createReplica(config)`. Every replica (the one on the main thread and one per worker thread, each with
 * its own TF.js and wasm instance) is created from the same `config`, so replicas start with identical
 * weights when the module initialises them from a seed in `config`.
 *
 * One data-parallel step: every replica computes gradients on its shard of the batch; the orchestrator
 * averages them (float64 sums in replica order, rounded once to float32); every replica applies the same
 * averaged gradients with its own optimizer. Replicas therefore stay bit-identical.
 */

/** What `computeGradients` reports for one shard. */
export interface GradientResult {
  /** One flat float32 array per trainable variable, in the replica's fixed variable order. */
  grads: Float32Array[];
  /** Named scalars of the shard (loss terms, positive counts, ...), averaged over replicas by the step. */
  scalars: Record<string, number>;
}

/** One model copy with its optimizer. `Shard` must survive structured cloning (typed arrays, plain objects). */
export interface Replica<Shard> {
  /** Element count of each gradient array, in order (the same for every replica). */
  readonly gradientSizes: number[];
  /** Gradients of the training loss on `shard` at the current weights; must not change the weights. */
  computeGradients(shard: Shard): GradientResult | Promise<GradientResult>;
  /** Applies `grads` (same layout as `computeGradients` returns) with the replica's optimizer. */
  applyUpdate(grads: Float32Array[]): void | Promise<void>;
  /** Current trainable weights, flat, in the gradient order (for checks and checkpoints). */
  readWeights(): Float32Array[];
  /** Frees tensors and the optimizer; optional. */
  dispose?(): void;
}

/** The shape of a replica module's exports. */
export interface ReplicaModule<Config, Shard> {
  createReplica(config: Config): Replica<Shard> | Promise<Replica<Shard>>;
}

/** Messages from the orchestrator to a worker. */
export type ToWorker<Shard> =
  | { type: 'compute'; shard: Shard }
  | { type: 'apply'; grads: Float32Array[] }
  | { type: 'weights' }
  | { type: 'close' };

/** Messages from a worker to the orchestrator (one reply per request, plus `ready` once). */
export type FromWorker =
  | { type: 'ready'; gradientSizes: number[]; backend: string }
  | { type: 'grads'; grads: Float32Array[]; scalars: Record<string, number> }
  | { type: 'applied' }
  | { type: 'weights'; weights: Float32Array[] }
  | { type: 'closed' }
  | { type: 'error'; message: string; stack?: string };

/** Data handed to each worker at start. */
export interface WorkerInit<Config> {
  /** URL (file://) of the replica module. */
  replicaModule: string;
  config: Config;
  /** Backend the worker sets up (`setupBackend`), e.g. 'wasm'. */
  backend: string;
}

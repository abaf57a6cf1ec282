/**
 * Data-parallel gradient computation over worker threads, each with its own TF.js/wasm instance.
 *
 * The wasm backend runs on one thread in Node; the only parallelism that pays on a CPU is one wasm instance
 * per thread (docs/engine.md, "Data-parallel replicas").
 * With `replicas` = R, replica 0 lives on the calling thread and replicas 1..R-1 in worker threads. A step:
 *   1. shard r goes to replica r; all replicas compute gradients at the same time (the calling thread works
 *      on shard 0 while the workers work on theirs);
 *   2. the gradients are averaged: g = (1/R) * sum over r of g_r, summed in float64 in replica order and
 *      rounded once to float32;
 *   3. every replica applies the same g with its own optimizer, so all replicas stay bit-identical.
 * With equal shards and a loss that is a mean over images, g is the full-batch gradient. Losses normalised by
 * batch-level counts (GHM's valid-element count, RetinaNet's positive count) are normalised per shard here.
 * State that a replica updates from its own shard outside the gradients (BatchNorm running statistics, GHM's
 * EMA of bin counts) is per replica and may differ between replicas; only the trainable weights are kept
 * identical. Checkpoint such state from replica 0 (the calling thread's).
 *
 * Workers load the replica module and their entry as TypeScript when this file runs as TypeScript (under
 * tsx, which each worker registers for itself) and as JavaScript under `dist`.
 * R = 1 (the default) starts no worker at all.
 */
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { FromWorker, GradientResult, Replica, ReplicaModule, ToWorker, WorkerInit } from './replica.js';

/** Options of {@link DataParallel.create}. */
export interface DataParallelOptions<Config, Shard = unknown> {
  /** The replica module: a `file:` URL or an absolute path to a module exporting `createReplica(config)`. */
  replicaModule: string | URL;
  /** Passed to `createReplica` in every replica; must survive structured cloning. */
  config: Config;
  /** Number of replicas R >= 1; R - 1 worker threads are started. Default 1 (no workers). */
  replicas?: number;
  /** Backend of the worker replicas. Default: the calling thread's current backend (`tf.getBackend()`). */
  backend?: string;
  /** Node flags for the workers. Default `process.execArgv`. */
  execArgv?: string[];
  /**
   * Replica 0, when the caller already holds it (e.g. a trainer's model on the calling thread); by default it
   * is created from the module like the workers' replicas. `close()` disposes it either way.
   */
  localReplica?: Replica<Shard>;
}

/** What one step reports. */
export interface StepResult {
  /** Each replica's scalars, in replica order. */
  replicaScalars: Record<string, number>[];
  /** Scalars averaged over replicas (keys of replica 0). */
  scalars: Record<string, number>;
}

/** One worker with a FIFO of pending replies (each request gets exactly one reply). */
class WorkerLink {
  private readonly pending: { resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | null = null;

  constructor(
    readonly worker: Worker,
    readonly index: number,
  ) {
    worker.on('message', (msg: FromWorker) => {
      const p = this.pending.shift();
      if (p === undefined) return;
      if (msg.type === 'error')
        p.reject(new Error(`data-parallel replica ${index}: ${msg.message}\n${msg.stack ?? ''}`));
      else p.resolve(msg);
    });
    const fail = (e: Error): void => {
      this.failure = e;
      for (const p of this.pending.splice(0)) p.reject(e);
    };
    worker.on('error', (e) => fail(new Error(`data-parallel replica ${index} failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (this.pending.length > 0) fail(new Error(`data-parallel replica ${index} exited (code ${code})`));
    });
  }

  /** The next message (the reply to `msg`, or the `ready` message when `msg` is undefined). */
  request(msg?: ToWorker<unknown>, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const reply = new Promise<FromWorker>((resolve, reject) => this.pending.push({ resolve, reject }));
    if (msg !== undefined) this.worker.postMessage(msg, transfer);
    return reply;
  }
}

function expect<T extends FromWorker['type']>(msg: FromWorker, type: T): Extract<FromWorker, { type: T }> {
  if (msg.type !== type) throw new Error(`data-parallel: expected a '${type}' reply, got '${msg.type}'`);
  return msg as Extract<FromWorker, { type: T }>;
}

/** Averages per-replica gradients: float64 sums in replica order, divided by R, rounded once to float32. */
export function averageGradients(perReplica: Float32Array[][]): Float32Array[] {
  const r = perReplica.length;
  if (r === 0) throw new Error('averageGradients: no replicas');
  return perReplica[0]!.map((first, k) => {
    const out = new Float32Array(first.length);
    for (let i = 0; i < first.length; i++) {
      let s = 0;
      for (let j = 0; j < r; j++) s += perReplica[j]![k]![i]!;
      out[i] = s / r;
    }
    return out;
  });
}

/**
 * Starts one worker on the entry `entry`. A TypeScript entry (under tsx) is started through a small
 * JavaScript shim that registers tsx's loader inside the worker first: in Node 20 the loader of the parent
 * (`--import tsx`) does not reach a worker's own entry.
 */
function startWorker(entry: URL, workerData: unknown, execArgv: string[]): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData, execArgv });
  const api = import.meta.resolve('tsx/esm/api');
  const shim =
    `import(${JSON.stringify(api)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(shim, { eval: true, workerData, execArgv });
}

/** Orchestrates R replicas of one model; see the module comment. */
export class DataParallel<Shard> {
  /**
   * The workers' replies to the last step's `apply`: awaited at the start of the next request rather than in
   * the step, so the workers update their weights while the calling thread updates its own. Each link's
   * replies come in request order, so a later request never overtakes the update.
   */
  private pendingApplies: Promise<FromWorker>[] = [];

  private constructor(
    private readonly local: Replica<Shard>,
    private readonly links: WorkerLink[],
  ) {}

  /** Waits for the workers' last updates; a failed one throws here. */
  private async settleApplies(): Promise<void> {
    const pending = this.pendingApplies;
    this.pendingApplies = [];
    for (const m of await Promise.all(pending)) expect(m, 'applied');
  }

  /** Number of replicas (1 + worker threads). */
  get replicas(): number {
    return 1 + this.links.length;
  }

  /** Creates the local replica and starts R - 1 workers; resolves when every replica is ready. */
  static async create<Config, Shard>(
    options: DataParallelOptions<Config, Shard>,
  ): Promise<DataParallel<Shard>> {
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new Error(`DataParallel: \`replicas\` must be an integer >= 1; got ${replicas}`);
    }
    const spec = options.replicaModule;
    const url =
      spec instanceof URL ? spec.href : isAbsolute(spec) ? pathToFileURL(spec).href : new URL(spec).href;
    const mod = (await import(url)) as ReplicaModule<Config, Shard>;
    if (typeof mod.createReplica !== 'function') {
      throw new Error(`DataParallel: replica module ${url} does not export createReplica(config)`);
    }
    const local = options.localReplica ?? (await mod.createReplica(options.config));
    const backend = options.backend ?? tf.getBackend();
    // The worker entry next to this file: worker.ts under tsx, worker.js in dist.
    const self = import.meta.url;
    const entry = new URL(self.endsWith('.ts') ? './worker.ts' : './worker.js', self);
    const links: WorkerLink[] = [];
    try {
      for (let i = 1; i < replicas; i++) {
        const init: WorkerInit<Config> = { replicaModule: url, config: options.config, backend };
        const worker = startWorker(entry, init, options.execArgv ?? process.execArgv);
        links.push(new WorkerLink(worker, i));
      }
      const ready = await Promise.all(links.map((l) => l.request()));
      for (const msg of ready) {
        const r = expect(msg, 'ready');
        if (r.gradientSizes.join() !== local.gradientSizes.join()) {
          throw new Error(
            `DataParallel: a worker replica has gradient sizes [${r.gradientSizes}], ` +
              `expected [${local.gradientSizes}] like replica 0; is createReplica deterministic in config?`,
          );
        }
      }
    } catch (e) {
      await Promise.all(links.map((l) => l.worker.terminate()));
      throw e;
    }
    return new DataParallel<Shard>(local, links);
  }

  /**
   * One data-parallel step: gradients of shard r on replica r, averaged, applied on every replica. It returns
   * once the calling thread's replica is updated; the workers' updates are confirmed by the next request.
   *
   * @param shards exactly one shard per replica (equal sizes recommended).
   */
  async step(shards: Shard[]): Promise<StepResult> {
    if (shards.length !== this.replicas) {
      throw new Error(
        `DataParallel.step: got ${shards.length} shards, expected one per replica (${this.replicas})`,
      );
    }
    await this.settleApplies();
    const remote = this.links.map((l, i) => l.request({ type: 'compute', shard: shards[i + 1] }));
    // The calling thread computes its shard while the workers compute theirs.
    let mine: GradientResult;
    try {
      mine = await this.local.computeGradients(shards[0]!);
    } catch (e) {
      await Promise.allSettled(remote); // keep every worker's reply paired with its request
      throw e;
    }
    const theirs = (await Promise.all(remote)).map((m) => expect(m, 'grads'));
    const all = [mine, ...theirs];
    const grads = this.links.length === 0 ? mine.grads : averageGradients(all.map((g) => g.grads));
    this.pendingApplies = this.links.map((l) => l.request({ type: 'apply', grads }));
    // A rejected update is reported by the next request; until then it must not count as unhandled.
    for (const p of this.pendingApplies) p.catch(() => {});
    await this.local.applyUpdate(grads);
    const scalars: Record<string, number> = {};
    for (const key of Object.keys(mine.scalars)) {
      scalars[key] = all.reduce((s, g) => s + (g.scalars[key] ?? NaN), 0) / all.length;
    }
    return { replicaScalars: all.map((g) => g.scalars), scalars };
  }

  /** The weights of replica `index` (0 = the calling thread's), flat, in gradient order. */
  async readWeights(index = 0): Promise<Float32Array[]> {
    await this.settleApplies();
    if (index === 0) return this.local.readWeights();
    const link = this.links[index - 1];
    if (link === undefined)
      throw new Error(`DataParallel.readWeights: no replica ${index} (have ${this.replicas})`);
    return expect(await link.request({ type: 'weights' }), 'weights').weights;
  }

  /** Stops the workers and disposes the local replica. */
  async close(): Promise<void> {
    // Each link answers in request order, so a pending update is answered before `close` is.
    this.pendingApplies = [];
    await Promise.all(
      this.links.map(async (l) => {
        try {
          expect(await l.request({ type: 'close' }), 'closed');
        } finally {
          await l.worker.terminate();
        }
      }),
    );
    this.local.dispose?.();
  }
}

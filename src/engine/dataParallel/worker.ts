/**
 * Worker-thread entry of data-parallel training: sets up its own TF.js backend (a separate wasm instance),
 * imports the replica module named in `workerData`, creates a replica, and serves the orchestrator's
 * requests one at a time (see `./replica.ts` for the protocol). Gradients travel back as transferred
 * ArrayBuffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setupBackend } from '../backend.js';
import type { FromWorker, Replica, ReplicaModule, ToWorker, WorkerInit } from './replica.js';

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('dataParallel worker: must run in a worker thread (no parentPort)');
  const init = workerData as WorkerInit<unknown>;
  const reply = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);
  let replica: Replica<unknown>;
  try {
    const info = await setupBackend({ backend: init.backend });
    const mod = (await import(init.replicaModule)) as ReplicaModule<unknown, unknown>;
    if (typeof mod.createReplica !== 'function') {
      throw new Error(`replica module ${init.replicaModule} does not export createReplica(config)`);
    }
    replica = await mod.createReplica(init.config);
    reply({ type: 'ready', gradientSizes: replica.gradientSizes, backend: info.name });
  } catch (e) {
    reply({ type: 'error', message: (e as Error).message, stack: (e as Error).stack ?? '' });
    return;
  }
  port.on('message', (msg: ToWorker<unknown>) => {
    void (async () => {
      try {
        switch (msg.type) {
          case 'compute': {
            const r = await replica.computeGradients(msg.shard);
            reply({ type: 'grads', grads: r.grads, scalars: r.scalars }, [
              ...new Set(r.grads.map((g) => g.buffer as ArrayBuffer)),
            ]);
            break;
          }
          case 'apply':
            await replica.applyUpdate(msg.grads);
            reply({ type: 'applied' });
            break;
          case 'weights': {
            const weights = replica.readWeights();
            reply({ type: 'weights', weights }, [...new Set(weights.map((w) => w.buffer as ArrayBuffer))]);
            break;
          }
          case 'close':
            replica.dispose?.();
            reply({ type: 'closed' });
            port.close();
            break;
        }
      } catch (e) {
        reply({ type: 'error', message: (e as Error).message, stack: (e as Error).stack ?? '' });
      }
    })();
  });
}

void main();

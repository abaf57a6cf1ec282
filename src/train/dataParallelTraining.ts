/**
 * Data-parallel detector training over N replicas with the engine of src/engine/dataParallel/: replica 0 is
 * the trainer's own model on the calling thread, replicas 1..N-1 live in worker threads (this file is also
 * their replica module, `createReplica`).
 *
 * One iteration (batch of B images, B a multiple of N):
 *   1. the batch is split into N shards of B/N images, in batch order; replica r computes the gradients of
 *      shard r (each loss normalised over its own shard: positives, GHM's valid count);
 *   2. the engine averages them (float64 sums in replica order, one float32 rounding);
 *   3. every worker replica applies the trainer's update rule to the average: lr from the schedule at its
 *      iteration, global-norm clipping of the averaged gradient, SgdMomentum with weight decay; the trainer
 *      applies the same rule to the same average on replica 0. All replicas stay bit-identical.
 * BatchNorm running statistics and GHM EMA states are per replica (each sees only its shard), like
 * mmdetection's DDP without buffer broadcast; checkpoints hold replica 0's. On resume every worker replica
 * starts from the checkpoint (weights, momentum buffers, and replica 0's BatchNorm and GHM states), so a
 * resumed N > 1 run continues replica 0 exactly but the other replicas' per-replica states restart from
 * replica 0's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { retinaNetConfigOf, trainerUpdate, type GhmdetConfig } from '../config.js';
import { initFromModelDir } from '../detector/initFrom.js';
import { RetinaNet } from '../detector/retinaNet.js';
import type { ImageGroundTruth } from '../detector/targets.js';
import { DataParallel } from '../engine/dataParallel/dataParallel.js';
import type { GradientResult, Replica } from '../engine/dataParallel/replica.js';
import { buildLoss } from '../losses/index.js';
import { findResumableCheckpoint } from './checkpoint.js';
import { detectorTrainable, type DetectorBatch } from './detectorTrainable.js';
import { clipCoefficient, globalNorm } from './gradClip.js';
import { localGradients, type GradientFn } from './gradients.js';
import { SgdMomentum } from './optimizer.js';
import { lrSchedule } from './schedule.js';
import type { Trainable } from './trainable.js';
import { restoreWeights } from './trainer.js';

/** What every worker replica is created from (structured-cloned into the worker). */
export interface DetectorReplicaConfig {
  /** The resolved config, categories bound (`bindCategories`). */
  config: GhmdetConfig;
  /** Batches per epoch of the training loader (epoch-based schedules). */
  batchesPerEpoch: number;
  /** Start from the checkpoint in this run folder, when it has one. */
  resumeFrom: string | null;
}

/** One shard: `images` `[n, H, W, 3]` flat (normalised, padded), one ground truth per image (xyxy pixels). */
export interface DetectorShard {
  images: Float32Array;
  shape: [number, number, number, number];
  gts: ImageGroundTruth[];
}

async function shardGradients(
  trainable: Trainable<DetectorBatch>,
  shard: DetectorShard,
): Promise<GradientResult> {
  const images = tf.tensor4d(shard.images, shard.shape);
  try {
    const step = await localGradients(trainable)({
      data: { images, gts: shard.gts },
      images: shard.shape[0],
      epoch: 0,
      dispose: () => {},
    });
    const grads = step.grads.map((g) => (g.dataSync() as Float32Array).slice());
    tf.dispose(step.grads);
    return { grads, scalars: { loss: step.loss, ...step.terms } };
  } finally {
    images.dispose();
  }
}

/** A worker replica: the detector with the trainer's update rule (see the file comment). */
export async function createReplica(c: DetectorReplicaConfig): Promise<Replica<DetectorShard>> {
  const model = new RetinaNet(retinaNetConfigOf(c.config.model), { seed: c.config.train.seed, buildLoss });
  const trainable = detectorTrainable(model);
  const rule = trainerUpdate(c.config.train, c.batchesPerEpoch);
  const lrAt = lrSchedule(rule.schedule);
  const optimizer = new SgdMomentum(trainable.variables, rule.optimizer);
  let iter = 0;
  // The checkpoint the trainer resumes from: the same choice from the same files (it reports what it skipped).
  const ckpt = c.resumeFrom === null ? null : (await findResumableCheckpoint(c.resumeFrom)).checkpoint;
  if (ckpt !== null) {
    restoreWeights(trainable, ckpt.weights);
    optimizer.setState(ckpt.optimizer);
    trainable.setState(ckpt.modelState);
    iter = ckpt.iteration;
  } else if (c.config.model.init_from !== undefined) {
    // The same files as replica 0's initialisation, so the replicas start bit-identical.
    await initFromModelDir(model, c.config.model.init_from);
  }
  return {
    gradientSizes: trainable.variables.map((v) => v.variable.size),
    computeGradients: (shard) => shardGradients(trainable, shard),
    applyUpdate(flat: Float32Array[]): void {
      const grads = trainable.variables.map((v, i) => tf.tensor(flat[i]!, v.variable.shape));
      try {
        const norm = globalNorm(grads);
        // The trainer stops the run on a non-finite norm without updating; so does this replica.
        if (Number.isFinite(norm))
          optimizer.step(grads, lrAt(iter), clipCoefficient(norm, rule.gradClipMaxNorm));
      } finally {
        tf.dispose(grads);
      }
      iter++;
    },
    readWeights: () => trainable.variables.map((v) => (v.variable.dataSync() as Float32Array).slice()),
    dispose(): void {
      optimizer.dispose();
      model.dispose();
    },
  };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}

/** Splits a batch into `n` shards of equal size, in batch order. */
export function splitBatch(batch: DetectorBatch, n: number): DetectorShard[] {
  const [b, h, w, ch] = batch.images.shape;
  if (b % n !== 0)
    throw new Error(
      `data-parallel training: a batch of ${b} images cannot be split over ${n} replicas; ` +
        'make data.batch_size a multiple of --workers',
    );
  const per = b / n;
  const all = batch.images.dataSync() as Float32Array;
  const size = per * h * w * ch;
  return Array.from({ length: n }, (_, r) => ({
    images: all.slice(r * size, (r + 1) * size),
    shape: [per, h, w, ch],
    gts: batch.gts.slice(r * per, (r + 1) * per),
  }));
}

export interface DataParallelTraining {
  /** The trainer's `gradients`: the batch's averaged gradient, every worker replica already updated with it. */
  gradients: GradientFn<DetectorBatch>;
  /** Each replica's trainable weights, flat, in variable order (replica 0 = the trainer's model). */
  readWeights(replica: number): Promise<Float32Array[]>;
  /** Throws when a worker replica's weights differ from replica 0's in any bit. */
  assertReplicasIdentical(): Promise<void>;
  /** Stops the workers (the trainer's model is left to the caller). */
  close(): Promise<void>;
}

/**
 * Starts `workers - 1` worker replicas of `model` (the trainer's, replica 0). The trainer must apply the
 * update rule of `replica.config.train` (`trainerUpdate`) to the gradients it gets, as `trainDetector` does.
 */
export async function startDataParallelTraining(
  model: RetinaNet,
  replica: DetectorReplicaConfig,
  workers: number,
): Promise<DataParallelTraining> {
  const batchSize = replica.config.data.batch_size;
  if (batchSize % workers !== 0)
    throw new Error(
      `data-parallel training: data.batch_size ${batchSize} cannot be split over ${workers} replicas; ` +
        'make it a multiple of --workers',
    );
  const trainable = detectorTrainable(model);
  let averaged: Float32Array[] | null = null;
  const local: Replica<DetectorShard> = {
    gradientSizes: trainable.variables.map((v) => v.variable.size),
    computeGradients: (shard) => shardGradients(trainable, shard),
    // Replica 0 is updated by the trainer, which gets the average through `gradients`.
    applyUpdate(grads: Float32Array[]): void {
      averaged = grads;
    },
    readWeights: () => trainable.variables.map((v) => (v.variable.dataSync() as Float32Array).slice()),
  };
  const dp = await DataParallel.create<DetectorReplicaConfig, DetectorShard>({
    replicaModule: new URL(import.meta.url),
    config: replica,
    replicas: workers,
    localReplica: local,
  });
  return {
    async gradients(batch) {
      const step = await dp.step(splitBatch(batch.data, workers));
      const flat = averaged!;
      averaged = null;
      const grads = trainable.variables.map((v, i) => tf.tensor(flat[i]!, v.variable.shape));
      const { loss = NaN, ...terms } = step.scalars;
      return { grads, loss, terms };
    },
    readWeights: (r) => dp.readWeights(r),
    async assertReplicasIdentical() {
      const mine = await dp.readWeights(0);
      for (let r = 1; r < workers; r++) {
        const theirs = await dp.readWeights(r);
        const k = mine.findIndex((w, i) => !sameBits(w, theirs[i]!));
        if (k >= 0)
          throw new Error(
            `data-parallel training: replica ${r} has weights ${trainable.variables[k]!.name} different from ` +
              "replica 0's; the replicas applied different updates (a bug in the update rule's replication)",
          );
      }
    },
    close: () => dp.close(),
  };
}

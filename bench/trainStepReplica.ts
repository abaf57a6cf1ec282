/**
 * Replica module of `bench/trainStep.ts` (see `src/engine/dataParallel/replica.ts`): the project's RetinaNet
 * (shapes preset, 10 classes, GHM-C + GHM-R, or a config's model) with SGD momentum. A shard names its images
 * by seed (each replica generates them itself) and carries its boxes.
 */
import * as tf from '@tensorflow/tfjs';
import { SHAPES_CONFIG, type RetinaNetConfig } from '../src/detector/config.js';
import { RetinaNet } from '../src/detector/retinaNet.js';
import type { ImageGroundTruth } from '../src/detector/targets.js';
import type { GradientResult, Replica } from '../src/engine/dataParallel/replica.js';
import { buildLoss } from '../src/losses/index.js';

export interface BenchReplicaConfig {
  numClasses: number;
  /** The detector (a config's resolved `model`); default the shapes preset with `numClasses`. */
  model?: RetinaNetConfig;
  /** Weight-initialisation seed, the same in every replica. */
  seed: number;
  learningRate: number;
  momentum: number;
}

export interface BenchShard {
  /** Seed of the shard's images (normal noise). */
  imageSeed: number;
  /** Images [batch, size, size, 3]. */
  batch: number;
  size: number;
  /** One entry per image, boxes xyxy in pixels. */
  gts: ImageGroundTruth[];
}

export function createReplica(config: BenchReplicaConfig): Replica<BenchShard> {
  const model = new RetinaNet(config.model ?? { ...SHAPES_CONFIG, numClasses: config.numClasses }, {
    seed: config.seed,
    buildLoss,
  });
  const optimizer = tf.train.momentum(config.learningRate, config.momentum);
  const variables = model.variables;
  let images: tf.Tensor4D | null = null;
  let imagesKey = '';
  return {
    gradientSizes: variables.map((v) => v.size),
    computeGradients(shard: BenchShard): GradientResult {
      const t0 = performance.now();
      const key = `${shard.imageSeed}/${shard.batch}/${shard.size}`;
      if (images === null || key !== imagesKey) {
        images?.dispose();
        images = tf.randomNormal([shard.batch, shard.size, shard.size, 3], 0, 1, 'float32', shard.imageSeed);
        imagesKey = key;
      }
      const batchImages = images;
      const { value, grads } = tf.variableGrads(
        () => model.computeLoss(batchImages, shard.gts).loss,
        variables,
      );
      const loss = value.dataSync()[0]!;
      const flat = variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      return { grads: flat, scalars: { loss, compute_s: (performance.now() - t0) / 1000 } };
    },
    applyUpdate(flat: Float32Array[]): void {
      const named = variables.map((v, i) => ({ name: v.name, tensor: tf.tensor(flat[i]!, v.shape) }));
      optimizer.applyGradients(named);
      tf.dispose(named.map((g) => g.tensor));
    },
    readWeights(): Float32Array[] {
      return variables.map((v) => v.dataSync().slice() as Float32Array);
    },
    dispose(): void {
      images?.dispose();
      optimizer.dispose();
      tf.dispose(model.namedVariables().size > 0 ? [...model.namedVariables().values()] : []);
    },
  };
}

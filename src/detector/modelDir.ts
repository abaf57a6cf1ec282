/**
 * A model directory in Node: `model.json` + `weights.bin` as `saveRetinaNet` or `tools/torch_to_ghmdet.py`
 * write them (src/detector/modelIO.ts has the format). `ghmdet predict --model`, `eval --model` and
 * `train --init` read them through here; a browser loads the same files with `loadRetinaNet(url)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRetinaNetConfig, type RetinaNetConfig } from './config.js';
import { loadRetinaNet, savedModelInfo, type ModelCategory, type SavedModelInfo } from './modelIO.js';
import { MODEL_JSON, nodeFileHandler } from './nodeFileHandler.js';
import type { RetinaNet, RetinaNetOptions } from './retinaNet.js';

/** A model directory read without building the model. */
export interface ModelDirInfo extends SavedModelInfo {
  /** The validated config. */
  modelConfig: RetinaNetConfig;
  /** Category of each class index (the metadata's, or ids 1..K named by `classNames`). */
  modelCategories: ModelCategory[];
}

/** The model directory's artifacts; a clear error when `dir` is not a model directory. */
async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  try {
    await stat(join(dir, MODEL_JSON));
  } catch {
    throw new Error(
      `${dir} is not a model directory: it has no ${MODEL_JSON} (write one with \`ghmdet import\` or saveRetinaNet)`,
    );
  }
  return nodeFileHandler(dir).load!();
}

/** The categories of class indices 0..K-1: the saved ones, or ids 1..K named by `classNames`. */
export function categoriesOf(config: RetinaNetConfig, saved?: ModelCategory[]): ModelCategory[] {
  if (saved !== undefined) {
    if (saved.length !== config.numClasses)
      throw new Error(
        `the model's metadata lists ${saved.length} categories, expected numClasses = ${config.numClasses}`,
      );
    return saved;
  }
  return Array.from({ length: config.numClasses }, (_, k) => ({
    id: k + 1,
    name: config.classNames?.[k] ?? String(k),
  }));
}

/** Reads a model directory's metadata and config (and checks them), without its weights. */
export async function readModelDirInfo(dir: string): Promise<ModelDirInfo> {
  const art = await loadArtifacts(dir);
  const info = savedModelInfo(art, join(dir, MODEL_JSON));
  let modelConfig: RetinaNetConfig;
  try {
    modelConfig = parseRetinaNetConfig(info.config);
  } catch (err) {
    throw new Error(`${join(dir, MODEL_JSON)}: ${(err as Error).message}`);
  }
  return { ...info, modelConfig, modelCategories: categoriesOf(modelConfig, info.categories) };
}

/** Every tensor of a model directory by its logical name (the caller disposes them). */
export async function readModelDirTensors(dir: string): Promise<tf.NamedTensorMap> {
  const art = await loadArtifacts(dir);
  if (art.weightSpecs === undefined || art.weightData === undefined)
    throw new Error(`${dir}: the model has no weights (weightSpecs/weightData missing)`);
  return tf.io.decodeWeights(art.weightData, art.weightSpecs);
}

/** A model directory loaded for inference: the model and the category of each class index. */
export interface LoadedModelDir {
  model: RetinaNet;
  categories: ModelCategory[];
  info: ModelDirInfo;
}

export async function loadModelDir(
  dir: string,
  options: Omit<RetinaNetOptions, 'seed'> = {},
): Promise<LoadedModelDir> {
  const info = await readModelDirInfo(dir);
  const model = await loadRetinaNet(nodeFileHandler(dir), options);
  return { model, categories: info.modelCategories, info };
}

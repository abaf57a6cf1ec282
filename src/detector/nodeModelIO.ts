/**
 * Node's {@link saveRetinaNet} and {@link loadRetinaNet}: those of `./modelIO.ts`, plus local paths and
 * `file://` URLs (of the folder, or of its `model.json`), read and written by {@link nodeFileHandler}. Every
 * other source (an IOHandler, `http(s)://`, ...) goes to TF.js's IO routers as in a browser.
 */
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs-core';
import {
  loadRetinaNet as loadWithRouters,
  saveRetinaNet as saveWithRouters,
  type ModelSource,
  type SaveModelOptions,
} from './modelIO.js';
import { nodeFileHandler } from './nodeFileHandler.js';
import type { RetinaNet, RetinaNetOptions } from './retinaNet.js';

/** `source` with local paths and `file://` URLs replaced by a {@link nodeFileHandler}. */
export function nodeModelSource(source: ModelSource): ModelSource {
  if (typeof source !== 'string') return source;
  if (/^file:\/\//i.test(source)) return nodeFileHandler(fileURLToPath(source));
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return nodeFileHandler(source);
  return source;
}

/** Saves `model` to a folder path, a `file://` URL, an IOHandler or a URL TF.js's routers resolve. */
export async function saveRetinaNet(
  model: RetinaNet,
  destination: ModelSource,
  options: SaveModelOptions = {},
): Promise<tf.io.SaveResult> {
  return saveWithRouters(model, nodeModelSource(destination), options);
}

/** Loads a model from a folder path or a `model.json` path, a `file://` URL, an IOHandler or a URL. */
export async function loadRetinaNet(
  source: ModelSource,
  options: Omit<RetinaNetOptions, 'seed'> = {},
): Promise<RetinaNet> {
  return loadWithRouters(nodeModelSource(source), options);
}

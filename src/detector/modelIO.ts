/**
 * Save and load a {@link RetinaNet} in TensorFlow.js's model format, so the same files load in a browser:
 *   `model.json`: `{ format: 'ghmdet-retinanet', generatedBy, convertedBy: null, modelTopology: null,
 *                    weightsManifest: [{ paths: ['weights.bin'], weights: [specs by logical name] }],
 *                    userDefinedMetadata: { ghmdet: { formatVersion: 1, config } } }`
 *   `weights.bin`: float32 little-endian, every variable (trainable and BatchNorm running statistics).
 * Any `tf.io.IOHandler` works: `nodeFileHandler(dir)` in Node, `tf.io.http(url)` / `tf.io.browserFiles` in a
 * browser, or a URL string (loaded with `tf.io.http`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { RetinaNet, type RetinaNetOptions } from './retinaNet.js';

/** `format` field of the saved model.json. */
export const MODEL_FORMAT = 'ghmdet-retinanet';
const FORMAT_VERSION = 1;

/** Saves every variable of `model` and its config through `handler`. */
export async function saveRetinaNet(model: RetinaNet, handler: tf.io.IOHandler): Promise<tf.io.SaveResult> {
  if (handler.save === undefined)
    throw new Error('saveRetinaNet: the handler cannot save (it has no save method)');
  const named: tf.NamedTensorMap = {};
  for (const [name, v] of model.namedVariables()) named[name] = v;
  const { data, specs } = await tf.io.encodeWeights(named);
  return handler.save({
    format: MODEL_FORMAT,
    generatedBy: 'ghmdet',
    convertedBy: null,
    modelTopology: undefined,
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: { ghmdet: { formatVersion: FORMAT_VERSION, config: model.config } },
  });
}

/**
 * Builds a RetinaNet from saved files: the config from the metadata, every variable from the weights.
 *
 * @param source an IOHandler, or a URL of `model.json` (fetched with `tf.io.http`).
 */
export async function loadRetinaNet(
  source: tf.io.IOHandler | string,
  options: Omit<RetinaNetOptions, 'seed'> = {},
): Promise<RetinaNet> {
  const handler = typeof source === 'string' ? tf.io.http(source) : source;
  if (handler.load === undefined)
    throw new Error('loadRetinaNet: the handler cannot load (it has no load method)');
  const art = await handler.load();
  const meta = art.userDefinedMetadata?.['ghmdet'] as
    { formatVersion?: number; config?: unknown } | undefined;
  if (meta === undefined || meta.config === undefined) {
    throw new Error(
      `loadRetinaNet: model.json has no userDefinedMetadata.ghmdet.config (format ${JSON.stringify(art.format)}); ` +
        `is it a ghmdet RetinaNet saved by saveRetinaNet?`,
    );
  }
  if (meta.formatVersion !== FORMAT_VERSION) {
    throw new Error(`loadRetinaNet: formatVersion ${meta.formatVersion}, expected ${FORMAT_VERSION}`);
  }
  if (art.weightSpecs === undefined || art.weightData === undefined) {
    throw new Error('loadRetinaNet: the saved model has no weights (weightSpecs/weightData missing)');
  }
  const model = new RetinaNet(meta.config, options);
  const tensors = tf.io.decodeWeights(art.weightData, art.weightSpecs);
  try {
    const vars = model.namedVariables();
    for (const [name, v] of vars) {
      const t = tensors[name];
      if (t === undefined)
        throw new Error(`loadRetinaNet: weight ${JSON.stringify(name)} is missing from the file`);
      if (t.shape.join(',') !== v.shape.join(',')) {
        throw new Error(
          `loadRetinaNet: weight ${JSON.stringify(name)} has shape [${t.shape}], expected [${v.shape}]`,
        );
      }
      v.assign(t);
    }
    const extra = Object.keys(tensors).filter((k) => !vars.has(k));
    if (extra.length > 0)
      throw new Error(`loadRetinaNet: unexpected weights in the file: ${extra.join(', ')}`);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return model;
}

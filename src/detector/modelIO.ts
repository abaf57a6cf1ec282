/**
 * Save and load a {@link RetinaNet} in TensorFlow.js's model format, so the same files load in a browser:
 *   `model.json`: `{ format: 'ghmdet-retinanet', generatedBy, convertedBy: null, modelTopology: null,
 *                    weightsManifest: [{ paths: ['weights.bin'], weights: [specs by logical name] }],
 *                    userDefinedMetadata: { ghmdet: { formatVersion: 1, config, categories?, source?,
 *                    weights? } } }`
 *   `weights.bin`: float32 little-endian, every variable (trainable and BatchNorm running statistics).
 * The optional metadata ({@link ModelMetadata}) is what `tools/torch_to_ghmdet.py` writes for an imported model:
 * the dataset category of each class index, where the weights came from, and whether the file holds every
 * variable ('all') or the backbone's only ('backbone', an ImageNet classifier imported for `train --init`).
 * Any `tf.io.IOHandler` works: `nodeFileHandler(dir)` in Node, `tf.io.http(url)` / `tf.io.browserFiles` in a
 * browser, or a URL string (loaded with `tf.io.http`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { RetinaNet, type RetinaNetOptions } from './retinaNet.js';

/** `format` field of the saved model.json. */
export const MODEL_FORMAT = 'ghmdet-retinanet';
const FORMAT_VERSION = 1;

/** A dataset category: class index k of a model predicts `categories[k]`. */
export interface ModelCategory {
  id: number;
  name: string;
}

/** Metadata saved beside the config (all optional). */
export interface ModelMetadata {
  /** Category of each class index (COCO results use `id`); default ids 1..K named by `classNames`. */
  categories?: ModelCategory[];
  /** Provenance, e.g. `{ framework: 'torchvision', arch, checkpoint, sha256 }` for an imported model. */
  source?: Record<string, unknown>;
  /** 'all' (default): every variable; 'backbone': the backbone's only (for `init_from`, not for inference). */
  weights?: 'all' | 'backbone';
}

/** The parsed `userDefinedMetadata.ghmdet` of a saved model. */
export interface SavedModelInfo extends ModelMetadata {
  formatVersion: number;
  config: unknown;
}

/** Saves every variable of `model`, its config and `metadata` through `handler`. */
export async function saveRetinaNet(
  model: RetinaNet,
  handler: tf.io.IOHandler,
  metadata: ModelMetadata = {},
): Promise<tf.io.SaveResult> {
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
    userDefinedMetadata: { ghmdet: { formatVersion: FORMAT_VERSION, config: model.config, ...metadata } },
  });
}

/**
 * The ghmdet metadata of loaded model artifacts, checked: a format version this code reads and a config.
 * `what` names the source in errors.
 */
export function savedModelInfo(art: tf.io.ModelArtifacts, what = 'model.json'): SavedModelInfo {
  const meta = art.userDefinedMetadata?.['ghmdet'] as Partial<SavedModelInfo> | undefined;
  if (meta === undefined || meta.config === undefined) {
    throw new Error(
      `loadRetinaNet: ${what} has no userDefinedMetadata.ghmdet.config (format ${JSON.stringify(art.format)}); ` +
        `is it a ghmdet RetinaNet saved by saveRetinaNet or written by tools/torch_to_ghmdet.py?`,
    );
  }
  if (meta.formatVersion !== FORMAT_VERSION) {
    throw new Error(`loadRetinaNet: formatVersion ${meta.formatVersion}, expected ${FORMAT_VERSION}`);
  }
  return meta as SavedModelInfo;
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
  const meta = savedModelInfo(art);
  if (meta.weights === 'backbone') {
    throw new Error(
      'loadRetinaNet: this model holds backbone weights only (imported from a classification checkpoint); ' +
        'it cannot detect: fine-tune from it with `ghmdet train --init MODEL_DIR` (or model.init_from)',
    );
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

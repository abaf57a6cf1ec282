/**
 * Save and load a {@link RetinaNet} as a **TF.js weights manifest + ghmdet config**: the files TF.js's own IO
 * handlers read and write (`model.json` + `weights.bin`), so the same model loads in Node and in a browser,
 * but not a model TF.js can open by itself. The detector is a custom model on `tf.Variable`s, not a
 * `tf.LayersModel` or a `tf.GraphModel`: `model.json` has no topology, and `tf.loadLayersModel` /
 * `tf.loadGraphModel` refuse it; build it with {@link loadRetinaNet}.
 *
 *   `model.json`: `{ format: 'ghmdet-retinanet', generatedBy: 'ghmdet', convertedBy: null, modelTopology: null,
 *                    weightsManifest: [{ paths: ['./weights.bin'], weights: [specs by logical name] }],
 *                    userDefinedMetadata: { ghmdet: { formatVersion: 1, format: MODEL_FORMAT_NAME, config,
 *                    categories?, source?, weights? } } }`
 *   `weights.bin`: float32 little-endian, every variable (trainable and BatchNorm running statistics).
 *
 * The optional metadata ({@link ModelMetadata}) is what `tools/torch_to_ghmdet.py` writes for an imported model:
 * the dataset category of each class index, where the weights came from, and whether the file holds every
 * variable ('all') or the backbone's only ('backbone', an ImageNet classifier imported for `train --init`).
 *
 * Where the files live is a TF.js IO handler's business: any `tf.io.IOHandler`, or a URL string resolved by
 * TF.js's IO routers (`http(s)://` with `fetch`, `indexeddb://` and `localstorage://` in a browser,
 * `downloads://` to save from a page). Local paths and `file://` URLs are Node's: `ghmdet/node` exports
 * versions of these two functions that accept them (and `nodeFileHandler`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { RetinaNet, type RetinaNetOptions } from './retinaNet.js';

/** `format` field of the saved model.json. */
export const MODEL_FORMAT = 'ghmdet-retinanet';
/** What the files are, in words (also written into the metadata, for whoever opens model.json). */
export const MODEL_FORMAT_NAME = 'TF.js weights manifest + ghmdet config';
/** Version of the metadata layout; bumped when it changes meaning. */
export const MODEL_FORMAT_VERSION = 1;

/** A place to save to or load from: a TF.js IO handler or a URL that TF.js's IO routers resolve. */
export type ModelSource = tf.io.IOHandler | string;

/** The IO handler for `source`; `purpose` picks TF.js's load or save routers for a URL. */
export function modelHandler(source: ModelSource, purpose: 'load' | 'save', where: string): tf.io.IOHandler {
  if (typeof source !== 'string') {
    if (source === null || typeof source !== 'object')
      throw new Error(`${where}: expected a tf.io.IOHandler or a URL string, got ${String(source)}`);
    return source;
  }
  const handlers = purpose === 'load' ? tf.io.getLoadHandlers(source) : tf.io.getSaveHandlers(source);
  if (handlers.length === 1) return handlers[0]!;
  if (handlers.length === 0 && /^https?:\/\//i.test(source)) return tf.io.http(source);
  if (handlers.length > 1)
    throw new Error(`${where}: ${handlers.length} TF.js IO handlers match ${JSON.stringify(source)}`);
  const local = /^file:\/\//i.test(source) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  throw new Error(
    `${where}: no TF.js IO handler for ${JSON.stringify(source)}; expected http(s)://, indexeddb:// or ` +
      `localstorage:// (in a browser), or a tf.io.IOHandler` +
      (local
        ? `. For a local path or a file:// URL in Node, import ${purpose === 'load' ? 'loadRetinaNet' : 'saveRetinaNet'} ` +
          `from 'ghmdet/node' (or 'ghmdet'), or pass nodeFileHandler(dir)`
        : ''),
  );
}

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

/** Options of {@link saveRetinaNet}. */
export interface SaveModelOptions extends ModelMetadata {
  /** Class names to write into the saved config (`detect()` reports them), e.g. a dataset's category names. */
  classNames?: string[];
}

/** Saves every variable of `model` and its config to `destination` (an IOHandler or a URL string). */
export async function saveRetinaNet(
  model: RetinaNet,
  destination: ModelSource,
  options: SaveModelOptions = {},
): Promise<tf.io.SaveResult> {
  const names = options.classNames;
  if (names !== undefined && (!Array.isArray(names) || names.length !== model.config.numClasses)) {
    throw new Error(
      `saveRetinaNet: \`classNames\` has ${Array.isArray(names) ? names.length : String(names)} entries, ` +
        `expected one per class (numClasses ${model.config.numClasses})`,
    );
  }
  const config = names === undefined ? model.config : { ...model.config, classNames: [...names] };
  const handler = modelHandler(destination, 'save', 'saveRetinaNet');
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
    userDefinedMetadata: {
      ghmdet: {
        formatVersion: MODEL_FORMAT_VERSION,
        format: MODEL_FORMAT_NAME,
        config,
        ...metadataOf(options),
      },
    },
  });
}

/** The metadata fields of the save options that are set. */
function metadataOf(o: SaveModelOptions): ModelMetadata {
  return {
    ...(o.categories !== undefined ? { categories: o.categories } : {}),
    ...(o.source !== undefined ? { source: o.source } : {}),
    ...(o.weights !== undefined ? { weights: o.weights } : {}),
  };
}

/**
 * The ghmdet metadata of loaded model artifacts, checked: a ghmdet model, in a format version this code reads.
 * `what` names the source in errors.
 */
export function savedModelInfo(art: tf.io.ModelArtifacts, what = 'the model'): SavedModelInfo {
  const reason = notGhmdetModel(art);
  if (reason !== null) throw new Error(`loadRetinaNet: ${what} cannot be loaded: ${reason}`);
  const meta = art.userDefinedMetadata!['ghmdet'] as SavedModelInfo;
  if (meta.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new Error(
      `loadRetinaNet: ${what} has formatVersion ${meta.formatVersion}, expected ${MODEL_FORMAT_VERSION}; ` +
        `was it saved by another version of ghmdet?`,
    );
  }
  return meta;
}

/** Why loaded artifacts are not a ghmdet model, in words, or null when they are one. */
function notGhmdetModel(art: tf.io.ModelArtifacts): string | null {
  const meta = art.userDefinedMetadata?.['ghmdet'] as { config?: unknown } | undefined;
  if (meta !== undefined && meta.config !== undefined) return null;
  const topology = art.modelTopology as { class_name?: unknown; model_config?: unknown } | null | undefined;
  if (art.format === 'layers-model' || (topology != null && (topology.class_name ?? topology.model_config))) {
    const cls = topology?.class_name ?? (topology?.model_config as { class_name?: unknown })?.class_name;
    return (
      `it is a TF.js LayersModel${cls !== undefined ? ` (${String(cls)})` : ''}, not a ghmdet detector; ` +
      `open it with tf.loadLayersModel`
    );
  }
  if (art.format === 'graph-model' || (topology != null && 'node' in topology)) {
    return 'it is a TF.js GraphModel, not a ghmdet detector; open it with tf.loadGraphModel';
  }
  return (
    `it has no userDefinedMetadata.ghmdet.config (format ${JSON.stringify(art.format)}); ` +
    `expected a ghmdet RetinaNet saved by saveRetinaNet (${MODEL_FORMAT_NAME})`
  );
}

/**
 * Builds a RetinaNet from saved files: the config from the metadata, every variable from the weights.
 *
 * @param source an IOHandler, or a URL of `model.json` (`http(s)://`, `indexeddb://`, ...; see the module
 *   comment for local files).
 */
export async function loadRetinaNet(
  source: ModelSource,
  options: Omit<RetinaNetOptions, 'seed'> = {},
): Promise<RetinaNet> {
  const handler = modelHandler(source, 'load', 'loadRetinaNet');
  if (handler.load === undefined)
    throw new Error('loadRetinaNet: the handler cannot load (it has no load method)');
  const art = await handler.load();
  const what = typeof source === 'string' ? JSON.stringify(source) : 'the model';
  const meta = savedModelInfo(art, what);
  if (meta.weights === 'backbone') {
    throw new Error(
      `loadRetinaNet: ${what} holds backbone weights only (imported from a classification checkpoint); ` +
        'it cannot detect: fine-tune from it with `ghmdet train --init MODEL_DIR` (or model.init_from)',
    );
  }
  if (art.weightSpecs === undefined || art.weightData === undefined) {
    throw new Error(`loadRetinaNet: ${what} has no weights (weightSpecs/weightData missing)`);
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

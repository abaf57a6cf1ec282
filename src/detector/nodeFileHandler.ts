/**
 * A `tf.io.IOHandler` that reads and writes TF.js model files in a directory on the local file system
 * (`model.json` + `weights.bin`), for Node without `@tensorflow/tfjs-node` (whose `file://` handler is absent).
 * The files are the ones `tf.io.http` reads in a browser.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../train/atomicFile.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/**
 * @param path the directory holding (or to hold) `model.json` and `weights.bin`, created on save; or the path
 *   of a `*.json` model file, whose weights files are read from (and `weights.bin` written to) its directory.
 */
export function nodeFileHandler(path: string): tf.io.IOHandler {
  if (typeof path !== 'string' || path === '')
    throw new Error(
      `nodeFileHandler: \`path\` must be a non-empty folder or model.json path, got ${String(path)}`,
    );
  const isJson = /\.json$/i.test(path);
  const dir = isJson ? dirname(path) : path;
  const jsonName = isJson ? basename(path) : MODEL_JSON;
  return {
    async save(art: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await mkdir(dir, { recursive: true });
      const weights =
        art.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(art.weightData);
      const json: tf.io.ModelJSON = {
        modelTopology: art.modelTopology ?? null,
        format: art.format,
        generatedBy: art.generatedBy,
        convertedBy: art.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: art.weightSpecs ?? [] }],
      } as unknown as tf.io.ModelJSON;
      if (art.userDefinedMetadata !== undefined) json.userDefinedMetadata = art.userDefinedMetadata;
      // Each file replaced atomically (temp file, fsync, rename), so neither is ever half written.
      await writeFileAtomic(join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      await writeFileAtomic(join(dir, jsonName), JSON.stringify(json));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, jsonName);
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(await readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`cannot read ${jsonPath}: ${(e as Error).message}`);
      }
      const manifest = json.weightsManifest ?? [];
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of manifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const buf = await readFile(join(dir, p));
          buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        }
      }
      const art: tf.io.ModelArtifacts = {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        weightSpecs: specs,
        weightData: tf.io.CompositeArrayBuffer.join(buffers),
      };
      if (json.userDefinedMetadata !== undefined) art.userDefinedMetadata = json.userDefinedMetadata;
      return art;
    },
  };
}

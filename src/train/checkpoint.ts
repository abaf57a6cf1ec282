/**
 * Training checkpoints in a run folder, written so that a crash at any moment leaves a loadable one.
 *
 * Layout (N = completed iterations, zero-padded to 8 digits):
 *   ckpt-N.bin     float32 little-endian values of every tensor, back to back: model weights, then momentum buffers
 *   ckpt-N.json    the tensor index (name, shape, offset in floats) and the JSON state: iteration, epoch,
 *                  model extra state (GHM EMA `accSum`), data-loader state, random state
 *   checkpoint.json  the manifest naming the current pair; written last
 * Each file is written atomically (temp + fsync + rename). The manifest is replaced only after both files
 * of the new checkpoint are durable, and older pairs are deleted only after that, so an interrupted save
 * leaves the previous manifest pointing at intact files.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, type BeforeRenameHook } from './atomicFile.js';
import type { JsonValue } from './trainable.js';

export const MANIFEST_FILE = 'checkpoint.json';
export const CHECKPOINT_FORMAT = 'ghmdet-checkpoint/1';

/** A tensor as saved: name, shape and float32 values (row-major). */
export interface SavedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface CheckpointData {
  /** Completed iterations. */
  iteration: number;
  /** Epoch (0-based) of the last batch trained on. */
  epoch: number;
  weights: SavedTensor[];
  /** Optimizer state (momentum buffers), in variable order. */
  optimizer: SavedTensor[];
  /** The model's extra state (`Trainable.getState()`: GHM EMA states). */
  modelState: JsonValue;
  /** The batch source's state (`BatchSource.getState()`). */
  loaderState: JsonValue;
  /** State of the trainer's own `Random`, or null when it has none. */
  randomState: number | null;
}

export interface CheckpointManifest {
  format: string;
  iteration: number;
  epoch: number;
  /** File names, relative to the run folder. */
  state: string;
  tensors: string;
  /** Byte length of the tensors file, checked on load. */
  bytes: number;
  savedAt: string;
}

interface TensorIndexEntry {
  name: string;
  shape: number[];
  offset: number;
}

interface StateFile {
  format: string;
  iteration: number;
  epoch: number;
  weights: TensorIndexEntry[];
  optimizer: TensorIndexEntry[];
  modelState: JsonValue;
  loaderState: JsonValue;
  randomState: number | null;
}

export interface SaveCheckpointOptions {
  /** How many checkpoints to keep (the newest ones). Default 1. */
  keep?: number;
  /** Test seam passed to every atomic write (simulates a crash between temp write and rename). */
  beforeRename?: BeforeRenameHook;
}

function baseName(iteration: number): string {
  return `ckpt-${String(iteration).padStart(8, '0')}`;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Writes `data` as the run folder's current checkpoint and returns the manifest written. */
export async function saveCheckpoint(
  runDir: string,
  data: CheckpointData,
  options: SaveCheckpointOptions = {},
): Promise<CheckpointManifest> {
  const keep = options.keep ?? 1;
  if (!Number.isInteger(keep) || keep < 1)
    throw new Error(`saveCheckpoint: keep must be an integer >= 1, got ${keep}`);
  await fs.mkdir(runDir, { recursive: true });
  const all = [...data.weights, ...data.optimizer];
  let total = 0;
  const index: TensorIndexEntry[] = [];
  for (const t of all) {
    if (t.values.length !== sizeOf(t.shape))
      throw new Error(
        `saveCheckpoint: tensor ${t.name} has ${t.values.length} values, shape [${t.shape}] needs ${sizeOf(t.shape)}`,
      );
    index.push({ name: t.name, shape: [...t.shape], offset: total });
    total += t.values.length;
  }
  const flat = new Float32Array(total);
  all.forEach((t, i) => flat.set(t.values, index[i]!.offset));
  const bytes = new Uint8Array(flat.buffer);

  const base = baseName(data.iteration);
  const stateFile: StateFile = {
    format: CHECKPOINT_FORMAT,
    iteration: data.iteration,
    epoch: data.epoch,
    weights: index.slice(0, data.weights.length),
    optimizer: index.slice(data.weights.length),
    modelState: data.modelState,
    loaderState: data.loaderState,
    randomState: data.randomState,
  };
  const hook = options.beforeRename === undefined ? {} : { beforeRename: options.beforeRename };
  await writeFileAtomic(join(runDir, `${base}.bin`), bytes, hook);
  await writeFileAtomic(join(runDir, `${base}.json`), JSON.stringify(stateFile), hook);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    iteration: data.iteration,
    epoch: data.epoch,
    state: `${base}.json`,
    tensors: `${base}.bin`,
    bytes: bytes.byteLength,
    savedAt: new Date().toISOString(),
  };
  await writeFileAtomic(join(runDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', hook);
  await pruneCheckpoints(runDir, keep, base);
  return manifest;
}

/** Deletes all but the newest `keep` checkpoint pairs (never `current`). */
async function pruneCheckpoints(runDir: string, keep: number, current: string): Promise<void> {
  const names = await fs.readdir(runDir);
  const bases = [
    ...new Set(names.filter((n) => /^ckpt-\d{8}\.(bin|json)$/.test(n)).map((n) => n.slice(0, 13))),
  ].sort();
  const drop = bases.slice(0, Math.max(0, bases.length - keep)).filter((b) => b !== current);
  for (const b of drop) {
    await fs.rm(join(runDir, `${b}.bin`), { force: true });
    await fs.rm(join(runDir, `${b}.json`), { force: true });
  }
}

/** The run folder's manifest, or null when it has no checkpoint yet. */
export async function readManifest(runDir: string): Promise<CheckpointManifest | null> {
  let text: string;
  try {
    text = await fs.readFile(join(runDir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const m = JSON.parse(text) as CheckpointManifest;
  if (m.format !== CHECKPOINT_FORMAT)
    throw new Error(
      `${join(runDir, MANIFEST_FILE)}: format ${JSON.stringify(m.format)}, expected ${CHECKPOINT_FORMAT}`,
    );
  return m;
}

/** Loads the current checkpoint of `runDir`, or null when there is none. */
export async function loadCheckpoint(runDir: string): Promise<CheckpointData | null> {
  const m = await readManifest(runDir);
  if (m === null) return null;
  const state = JSON.parse(await fs.readFile(join(runDir, m.state), 'utf8')) as StateFile;
  const buf = await fs.readFile(join(runDir, m.tensors));
  if (buf.byteLength !== m.bytes)
    throw new Error(
      `${join(runDir, m.tensors)}: ${buf.byteLength} bytes, the manifest says ${m.bytes}; the checkpoint is damaged`,
    );
  // Copy into an aligned buffer (Buffer may sit at an unaligned offset in Node's pool).
  const flat = new Float32Array(new Uint8Array(buf).buffer);
  const read = (e: TensorIndexEntry): SavedTensor => ({
    name: e.name,
    shape: e.shape,
    values: flat.slice(e.offset, e.offset + sizeOf(e.shape)),
  });
  return {
    iteration: state.iteration,
    epoch: state.epoch,
    weights: state.weights.map(read),
    optimizer: state.optimizer.map(read),
    modelState: state.modelState,
    loaderState: state.loaderState,
    randomState: state.randomState,
  };
}

/**
 * Training checkpoints in a run folder, written so that a crash at any moment leaves a loadable one, and
 * checked on load so that a damaged one is never used.
 *
 * Layout (N = completed iterations, zero-padded to 8 digits):
 *   ckpt-N.bin     float32 little-endian values of every tensor, back to back: model weights, then momentum buffers
 *   ckpt-N.json    the tensor index (name, shape, offset in floats), the tensors file's byte length and SHA-256,
 *                  and the JSON state: iteration, epoch, model extra state (GHM EMA `accSum`), data-loader state,
 *                  random state
 *   checkpoint.json  the manifest naming the current pair, with the SHA-256 of both files; written last
 * Each file is written atomically (temp + fsync + rename). The manifest is replaced only after both files
 * of the new checkpoint are durable, and older pairs are deleted only after that, so an interrupted save
 * leaves the previous manifest pointing at intact files. Pruning also removes the temp files that a killed
 * write left behind (atomicFile.ts).
 *
 * Integrity: a pair verifies itself (the state file records the tensors file's length and SHA-256), and the
 * manifest records the SHA-256 of both. `loadCheckpoint` loads the manifest's checkpoint or throws a
 * {@link CheckpointDamagedError} that names the file, says what is wrong and what to do. A resume uses
 * `findResumableCheckpoint`, which falls back to the newest intact pair and reports what it skipped.
 * Checkpoints of format `ghmdet-checkpoint/1` (without checksums) still load, with their lengths checked.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { issueLines } from '../utils/configIssues.js';
import { removeOrphanTempFiles, writeFileAtomic, type BeforeRenameHook } from './atomicFile.js';
import type { JsonValue } from './trainable.js';

export const MANIFEST_FILE = 'checkpoint.json';
export const CHECKPOINT_FORMAT = 'ghmdet-checkpoint/2';
/** The format before checksums; still read. */
const LEGACY_FORMAT = 'ghmdet-checkpoint/1';

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

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 in hex');
const fileName = z.string().regex(/^ckpt-\d{8}\.(bin|json)$/, 'expected a checkpoint file name');
const count = z.number().int().nonnegative();
const json = z.custom<JsonValue>((v) => v !== undefined, 'expected a JSON value');

const manifestSchema = z.object({
  format: z.enum([CHECKPOINT_FORMAT, LEGACY_FORMAT]),
  iteration: count,
  epoch: count,
  /** File names, relative to the run folder. */
  state: fileName,
  tensors: fileName,
  /** Byte length of the tensors file. */
  bytes: count,
  /** SHA-256 of the tensors file and of the state file (absent in the legacy format). */
  sha256: sha256Hex.optional(),
  stateSha256: sha256Hex.optional(),
  savedAt: z.string(),
});
export type CheckpointManifest = z.infer<typeof manifestSchema>;

const indexEntrySchema = z.object({ name: z.string(), shape: z.array(count), offset: count });
type TensorIndexEntry = z.infer<typeof indexEntrySchema>;

const stateFileSchema = z.object({
  format: z.enum([CHECKPOINT_FORMAT, LEGACY_FORMAT]),
  iteration: count,
  epoch: count,
  /** The tensors file of this pair: name, byte length, SHA-256 (absent in the legacy format). */
  tensors: z.object({ file: fileName, bytes: count, sha256: sha256Hex }).optional(),
  weights: z.array(indexEntrySchema),
  optimizer: z.array(indexEntrySchema),
  modelState: json,
  loaderState: json,
  randomState: z.number().nullable(),
});
type StateFile = z.infer<typeof stateFileSchema>;

/**
 * A checkpoint file that cannot be used: missing, empty, not JSON, without a field, of the wrong length, or with
 * a SHA-256 other than the one recorded when it was written. `file` is its path, `problem` what is wrong.
 */
export class CheckpointDamagedError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    advice: string,
  ) {
    super(`checkpoint file ${file} is damaged: ${problem}; ${advice}`);
    this.name = 'CheckpointDamagedError';
  }
}

/** A damaged file, before the advice (which depends on what else the folder holds) is known. */
class Damage {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {}
  describe(): string {
    return `${this.file} is damaged: ${this.problem}`;
  }
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

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
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
  const tensors = { file: `${base}.bin`, bytes: bytes.byteLength, sha256: sha256(bytes) };
  const stateFile: StateFile = {
    format: CHECKPOINT_FORMAT,
    iteration: data.iteration,
    epoch: data.epoch,
    tensors,
    weights: index.slice(0, data.weights.length),
    optimizer: index.slice(data.weights.length),
    modelState: data.modelState,
    loaderState: data.loaderState,
    randomState: data.randomState,
  };
  const stateText = JSON.stringify(stateFile);
  const hook = options.beforeRename === undefined ? {} : { beforeRename: options.beforeRename };
  await writeFileAtomic(join(runDir, tensors.file), bytes, hook);
  await writeFileAtomic(join(runDir, `${base}.json`), stateText, hook);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    iteration: data.iteration,
    epoch: data.epoch,
    state: `${base}.json`,
    tensors: tensors.file,
    bytes: tensors.bytes,
    sha256: tensors.sha256,
    stateSha256: sha256(stateText),
    savedAt: new Date().toISOString(),
  };
  await writeFileAtomic(join(runDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', hook);
  await pruneCheckpoints(runDir, keep, data.iteration);
  return manifest;
}

/** Iterations of the checkpoint pairs (or lone halves) in the folder, newest first. */
async function checkpointIterations(runDir: string): Promise<number[]> {
  const names = await fs.readdir(runDir);
  const its = names.filter((n) => /^ckpt-\d{8}\.(bin|json)$/.test(n)).map((n) => Number(n.slice(5, 13)));
  return [...new Set(its)].sort((a, b) => b - a);
}

/**
 * Keeps the newest `keep` checkpoints up to `current`; deletes older ones, and newer ones (left by a damaged
 * checkpoint that a resume fell back from, or by a save killed before its manifest was written). Removes the
 * temp files of killed writes.
 */
async function pruneCheckpoints(runDir: string, keep: number, current: number): Promise<void> {
  const its = await checkpointIterations(runDir);
  const kept = new Set(its.filter((i) => i <= current).slice(0, keep));
  for (const it of its) {
    if (kept.has(it)) continue;
    await fs.rm(join(runDir, `${baseName(it)}.bin`), { force: true });
    await fs.rm(join(runDir, `${baseName(it)}.json`), { force: true });
  }
  await removeOrphanTempFiles(runDir);
}

/** Reads a file that must exist and hold something; a missing or empty one is damage. */
async function readRequired(path: string): Promise<Buffer | Damage> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Damage(path, 'it does not exist');
    throw err;
  }
  return buf.byteLength === 0 ? new Damage(path, 'it is empty') : buf;
}

/** Parses and validates a JSON file's text against `schema`; damage names the first problem. */
function parseJson<T>(path: string, text: string, schema: z.ZodType<T>): T | Damage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return new Damage(path, `it is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return new Damage(path, `expected an object, got ${Array.isArray(value) ? 'an array' : String(value)}`);
  const r = schema.safeParse(value, { reportInput: true });
  if (!r.success) {
    const fields = issueLines(schema, r.error.issues).map((l) => {
      const colon = l.indexOf(': ');
      return `field \`${l.slice(0, colon)}\`: ${l.slice(colon + 2)}`;
    });
    return new Damage(path, fields.join('; '));
  }
  return r.data;
}

/** The manifest, null when the folder has none, or the damage found in it. */
async function manifestOrDamage(runDir: string): Promise<CheckpointManifest | null | Damage> {
  const path = join(runDir, MANIFEST_FILE);
  try {
    await fs.access(path);
  } catch {
    return null;
  }
  const buf = await readRequired(path);
  return buf instanceof Damage ? buf : parseJson(path, buf.toString('utf8'), manifestSchema);
}

/** Whether the run folder has a checkpoint manifest (intact or not): a run has saved a checkpoint there. */
export async function hasCheckpoint(runDir: string): Promise<boolean> {
  try {
    await fs.access(join(runDir, MANIFEST_FILE));
    return true;
  } catch {
    return false;
  }
}

/** The run folder's manifest, or null when it has no checkpoint yet; throws when it is damaged. */
export async function readManifest(runDir: string): Promise<CheckpointManifest | null> {
  const m = await manifestOrDamage(runDir);
  if (m instanceof Damage) throw await damagedError(runDir, m, null);
  return m;
}

/**
 * Reads and verifies the pair whose state file is `stateName`: against the SHA-256s of the manifest when
 * given, and always against the tensors file's length and SHA-256 that the state file records.
 */
async function readPair(
  runDir: string,
  stateName: string,
  manifest: CheckpointManifest | null,
): Promise<CheckpointData | Damage> {
  const statePath = join(runDir, stateName);
  const stateBuf = await readRequired(statePath);
  if (stateBuf instanceof Damage) return stateBuf;
  if (manifest?.stateSha256 !== undefined) {
    const got = sha256(stateBuf);
    if (got !== manifest.stateSha256)
      return new Damage(
        statePath,
        `its SHA-256 ${got.slice(0, 12)}... does not match ${manifest.stateSha256.slice(0, 12)}..., recorded in ` +
          `${join(runDir, MANIFEST_FILE)} when it was written (the file changed since)`,
      );
  }
  const state = parseJson(statePath, stateBuf.toString('utf8'), stateFileSchema);
  if (state instanceof Damage) return state;
  if (`${baseName(state.iteration)}.json` !== stateName)
    return new Damage(statePath, `it holds iteration ${state.iteration}, its name says another`);
  if (manifest !== null && (manifest.iteration !== state.iteration || manifest.epoch !== state.epoch))
    return new Damage(
      join(runDir, MANIFEST_FILE),
      `it says iteration ${manifest.iteration} (epoch ${manifest.epoch}), its checkpoint ${stateName} holds ` +
        `iteration ${state.iteration} (epoch ${state.epoch})`,
    );

  const tensorsName = state.tensors?.file ?? manifest?.tensors ?? stateName.replace(/\.json$/, '.bin');
  const tensorsPath = join(runDir, tensorsName);
  const buf = await readRequired(tensorsPath);
  if (buf instanceof Damage) return buf;
  const expectedBytes = state.tensors?.bytes ?? manifest?.bytes;
  if (expectedBytes !== undefined && buf.byteLength !== expectedBytes)
    return new Damage(
      tensorsPath,
      `it holds ${buf.byteLength} bytes, expected ${expectedBytes} (the file was cut or replaced)`,
    );
  const expectedSha = state.tensors?.sha256 ?? manifest?.sha256;
  if (expectedSha !== undefined) {
    const got = sha256(buf);
    if (got !== expectedSha)
      return new Damage(
        tensorsPath,
        `its SHA-256 ${got.slice(0, 12)}... does not match ${expectedSha.slice(0, 12)}..., recorded in ` +
          `${statePath} when it was written (the file changed since)`,
      );
  }
  if (buf.byteLength % 4 !== 0)
    return new Damage(tensorsPath, `it holds ${buf.byteLength} bytes, not a whole number of float32 values`);
  // Copy into an aligned buffer (Buffer may sit at an unaligned offset in Node's pool).
  const flat = new Float32Array(new Uint8Array(buf).buffer);
  const outside = [...state.weights, ...state.optimizer].find(
    (e) => e.offset + sizeOf(e.shape) > flat.length,
  );
  if (outside !== undefined)
    return new Damage(
      statePath,
      `tensor ${outside.name} lies outside the ${flat.length} values of ${tensorsName}`,
    );
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

/** The newest intact pair other than `except`, with the damage found in the newer ones. */
async function newestIntact(
  runDir: string,
  except: number | null,
): Promise<{ checkpoint: CheckpointData | null; damaged: Damage[] }> {
  const damaged: Damage[] = [];
  for (const it of await checkpointIterations(runDir)) {
    if (it === except) continue;
    const pair = await readPair(runDir, `${baseName(it)}.json`, null);
    if (!(pair instanceof Damage)) return { checkpoint: pair, damaged };
    damaged.push(pair);
  }
  return { checkpoint: null, damaged };
}

/** The error for damage found while loading the current checkpoint, with advice from what else is intact. */
async function damagedError(
  runDir: string,
  damage: Damage,
  current: number | null,
): Promise<CheckpointDamagedError> {
  const { checkpoint } = await newestIntact(runDir, current);
  const isManifest = damage.file === join(runDir, MANIFEST_FILE);
  let advice: string;
  if (checkpoint === null)
    advice =
      'no earlier checkpoint is kept; restore the file from a backup, or train the run again in a new folder';
  else if (isManifest)
    advice =
      `resuming the run rebuilds it from the newest intact checkpoint, iteration ${checkpoint.iteration} ` +
      `(${baseName(checkpoint.iteration)})`;
  else
    advice =
      `resuming the run falls back to the previous checkpoint, iteration ${checkpoint.iteration} ` +
      `(${baseName(checkpoint.iteration)}), which is kept`;
  return new CheckpointDamagedError(damage.file, damage.problem, advice);
}

/**
 * Loads the current checkpoint of `runDir` (the one its manifest names), or null when there is none. Throws a
 * {@link CheckpointDamagedError} when a file of it is damaged; nothing in the folder is changed.
 */
export async function loadCheckpoint(runDir: string): Promise<CheckpointData | null> {
  const m = await manifestOrDamage(runDir);
  if (m === null) return null;
  if (m instanceof Damage) throw await damagedError(runDir, m, null);
  const pair = await readPair(runDir, m.state, m);
  if (pair instanceof Damage) throw await damagedError(runDir, pair, m.iteration);
  return pair;
}

/** What a resume starts from: the checkpoint, and a line for each damaged file that was passed over. */
export interface ResumableCheckpoint {
  checkpoint: CheckpointData | null;
  skipped: string[];
}

/**
 * The checkpoint a resume starts from: the current one when it is intact, otherwise the newest intact pair in the
 * folder (`skipped` says which files were damaged and why). Null when the folder has no manifest. Throws, listing
 * every damaged file, when a manifest exists but no intact checkpoint does. Changes nothing in the folder.
 */
export async function findResumableCheckpoint(runDir: string): Promise<ResumableCheckpoint> {
  const m = await manifestOrDamage(runDir);
  if (m === null) return { checkpoint: null, skipped: [] };
  const skipped: Damage[] = [];
  let current: number | null = null;
  if (m instanceof Damage) skipped.push(m);
  else {
    current = m.iteration;
    const pair = await readPair(runDir, m.state, m);
    if (!(pair instanceof Damage)) return { checkpoint: pair, skipped: [] };
    skipped.push(pair);
  }
  const { checkpoint, damaged } = await newestIntact(runDir, current);
  skipped.push(...damaged);
  if (checkpoint === null)
    throw new Error(
      `${runDir}: no intact checkpoint is left to resume from: ${skipped.map((d) => d.describe()).join('; ')}; ` +
        'restore the files from a backup, or train the run again in a new folder',
    );
  return { checkpoint, skipped: skipped.map((d) => d.describe()) };
}

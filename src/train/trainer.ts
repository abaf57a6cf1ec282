/**
 * The training loop: batches from a `BatchSource`, gradients from a `GradientFn` (local by default),
 * global-norm clipping, SGD with momentum under a warm-up + step schedule, a JSON-lines log, periodic
 * evaluation, atomic checkpoints and exact resume.
 *
 * One iteration (0-based index `i`, `iter = i + 1` completed afterwards):
 *   batch <- source.next(); grads, loss <- gradients(batch)
 *   stop with NonFiniteLossError if loss or gradient norm is not finite (nothing is updated)
 *   lr <- schedule(i); coef <- clipCoefficient(||grads||, maxNorm); optimizer.step(grads, lr, coef)
 * Determinism: for a given backend and gradient function, the run is a pure function of the seeds, and a
 * run stopped at a checkpoint and resumed ends with bitwise the same weights as one that never stopped
 * (weights, momentum buffers, model state, loader state and random state are all restored exactly).
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Random } from '../utils/random.js';
import type { HeldLock } from '../utils/fileLock.js';
import { removeOrphanTempFiles, writeFileAtomic } from './atomicFile.js';
import {
  findResumableCheckpoint,
  hasCheckpoint,
  saveCheckpoint,
  type CheckpointData,
  type SavedTensor,
} from './checkpoint.js';
import { clipCoefficient, globalNorm } from './gradClip.js';
import { localGradients, type GradientFn } from './gradients.js';
import { SgdMomentum, type SgdOptions } from './optimizer.js';
import { Progress } from './progress.js';
import { holdRunFolder } from './runLock.js';
import { RunLog, type TrainRecord } from './runLog.js';
import { lrSchedule, type LrScheduleOptions } from './schedule.js';
import type { BatchSource, JsonValue, NamedVariable, Trainable } from './trainable.js';
import type { BeforeRenameHook } from './atomicFile.js';

export const CONFIG_FILE = 'config.json';
export const LOG_FILE = 'log.jsonl';

/** Evaluation callback: metrics by name (e.g. `bbox_mAP`, `bbox_mAP_50`), logged as a `mode: 'val'` record. */
export type EvalHook = (context: { iter: number; epoch: number }) => Promise<Record<string, number>>;

export interface TrainerOptions<B> {
  /** The run folder (created if absent). */
  runDir: string;
  /** Total iterations of the run (a resumed run continues up to this). */
  maxIters: number;
  /** Learning-rate schedule, in iterations. */
  schedule: LrScheduleOptions;
  /** SGD options; defaults momentum 0.9, weight decay 1e-4, decay on all variables. */
  optimizer?: SgdOptions;
  /** Global L2 max-norm for gradient clipping, or null for none. Default 35 (the paper's setting). */
  gradClipMaxNorm?: number | null;
  /** Write a `mode: 'train'` log record every this many iterations. Default 10. */
  logInterval?: number;
  /** Save a checkpoint every this many iterations (0: only at the end). Default 0. */
  checkpointInterval?: number;
  /** Checkpoints kept in the folder (a resume falls back to an older one when the newest is damaged). Default 2. */
  keepCheckpoints?: number;
  /** Call `evaluate` every this many iterations and at the end (0: never). Default 0. */
  evalInterval?: number;
  evaluate?: EvalHook;
  /**
   * Continue from the folder's checkpoint (the newest intact one, saying which damaged files were passed over).
   * Without it, a folder that has one is an error. Default false.
   */
  resume?: boolean;
  /**
   * The run folder's lock (src/train/runLock.ts) when the caller already holds it; otherwise `train` takes it
   * for the session and releases it at the end. A folder held by another process is an error naming it.
   */
  runLock?: HeldLock;
  /** The resolved configuration, written to `config.json` when the run starts fresh. */
  config?: JsonValue;
  /** Gradient computation; default `localGradients(model)`. */
  gradients?: GradientFn<B>;
  /** A generator whose state is checkpointed with the run (e.g. the one driving augmentation). */
  random?: Random;
  /** Progress bar / plain progress lines on stderr. Default true. */
  progress?: boolean;
  /** Where messages go (resume notes, checkpoint saves). Default: stderr through the progress display. */
  message?: (line: string) => void;
  /** End this session after this iteration with a checkpoint, as if interrupted (tests, time budgets). */
  stopAtIter?: number;
  /** Aborting finishes the current step, saves a checkpoint and returns. */
  signal?: AbortSignal;
  /** Test seam for checkpoint writes (see `atomicFile.ts`). */
  checkpointBeforeRename?: BeforeRenameHook;
  /**
   * Called after every completed iteration, before that iteration's checkpoint and evaluation (e.g. the
   * gradient statistics hook of src/analysis/gradientStatsHook.ts). It must not change the weights, the model
   * state, the loader or the random state, or resume is no longer exact.
   */
  afterIteration?: (context: { iter: number; epoch: number }) => Promise<unknown>;
}

export interface TrainResult {
  /** Completed iterations. */
  iteration: number;
  epoch: number;
  /** True when the session ended before `maxIters` (stopAtIter or abort). */
  stopped: boolean;
  /** Total loss of the last step. */
  lastLoss: number;
  /** Seconds this session trained. */
  seconds: number;
  /** Metrics of the last evaluation, if any ran. */
  lastEval: Record<string, number> | null;
}

/** A non-finite loss or gradient norm: training stops and the last good checkpoint stays in place. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly iteration: number,
    readonly loss: number,
    readonly terms: Record<string, number>,
    readonly gradNorm: number,
    readonly lastCheckpoint: number | null,
  ) {
    const termText = Object.entries(terms)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    super(
      `non-finite ${Number.isFinite(loss) ? 'gradient norm' : 'loss'} at iteration ${iteration}: ` +
        `loss=${loss} (${termText || 'no terms'}), grad_norm=${gradNorm}; ` +
        (lastCheckpoint === null
          ? 'no checkpoint was written yet'
          : `the last good checkpoint (iteration ${lastCheckpoint}) is kept`) +
        '; the learning rate may be too high for this batch size, or the data has degenerate boxes',
    );
    this.name = 'NonFiniteLossError';
  }
}

function positiveInt(name: string, v: number, min = 0): number {
  if (!Number.isInteger(v) || v < min)
    throw new Error(`train: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** Variables and buffers of a model: what a checkpoint's weights hold. */
export function checkpointedTensors<B>(model: Pick<Trainable<B>, 'variables' | 'buffers'>): NamedVariable[] {
  return [...model.variables, ...(model.buffers ?? [])];
}

function savedWeights<B>(model: Trainable<B>): SavedTensor[] {
  return checkpointedTensors(model).map((v) => ({
    name: v.name,
    shape: [...v.variable.shape],
    values: (v.variable.dataSync() as Float32Array).slice(),
  }));
}

/** Assigns saved weights to the model's variables and buffers, matching names and shapes exactly. */
export function restoreWeights<B>(
  model: Pick<Trainable<B>, 'variables' | 'buffers'>,
  weights: readonly SavedTensor[],
): void {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const targets = checkpointedTensors(model);
  for (const v of targets) {
    const w = byName.get(v.name);
    if (w === undefined)
      throw new Error(
        `restoreWeights: the checkpoint has no tensor ${JSON.stringify(v.name)}; was it written for another model configuration?`,
      );
    if (w.shape.join(',') !== v.variable.shape.join(','))
      throw new Error(
        `restoreWeights: ${v.name} has shape [${w.shape}] in the checkpoint, expected [${v.variable.shape}]`,
      );
    tf.tidy(() => v.variable.assign(tf.tensor(w.values, w.shape, 'float32')));
  }
  if (byName.size !== targets.length)
    throw new Error(
      `restoreWeights: the checkpoint has ${byName.size} tensors, the model ${targets.length} variables and buffers`,
    );
}

/** Trains `model` on batches from `source`; see the file comment and `TrainerOptions`. */
export async function train<B>(
  model: Trainable<B>,
  source: BatchSource<B>,
  options: TrainerOptions<B>,
): Promise<TrainResult> {
  const maxIters = positiveInt('maxIters', options.maxIters, 1);
  const logInterval = positiveInt('logInterval', options.logInterval ?? 10, 1);
  const checkpointInterval = positiveInt('checkpointInterval', options.checkpointInterval ?? 0);
  const evalInterval = positiveInt('evalInterval', options.evalInterval ?? 0);
  const maxNorm = options.gradClipMaxNorm === undefined ? 35 : options.gradClipMaxNorm;
  const stopAt = options.stopAtIter ?? maxIters;
  const lrAt = lrSchedule(options.schedule);
  const { runDir } = options;
  await fs.mkdir(runDir, { recursive: true });
  let progress: Progress | null = null;
  const say =
    options.message ??
    ((line: string) => (progress ? progress.message(line) : process.stderr.write(line + '\n')));
  const lock = options.runLock ?? (await holdRunFolder(runDir, say));
  const log = new RunLog(join(runDir, LOG_FILE));
  let optimizer: SgdMomentum | null = null;

  let iter = 0;
  let epoch = 0;
  let lastCheckpoint: number | null = null;

  try {
    // Every check that can refuse the session runs before anything is written to the folder.
    await refuseUnlessResumable(runDir, options.resume ?? false);
    let existing: CheckpointData | null = null;
    if (options.resume) {
      const found = await findResumableCheckpoint(runDir);
      existing = found.checkpoint;
      for (const line of found.skipped)
        say(`${line}; resuming from the newest intact checkpoint, iteration ${existing!.iteration}`);
    }
    optimizer = new SgdMomentum(model.variables, options.optimizer);
    if (existing !== null) {
      restoreWeights(model, existing.weights);
      optimizer.setState(existing.optimizer);
      model.setState(existing.modelState);
      source.setState(existing.loaderState);
      if (options.random !== undefined) {
        if (existing.randomState === null)
          throw new Error('train: the checkpoint has no random state but this run uses a Random');
        options.random.setState(existing.randomState);
      }
    }
    const gradients = options.gradients ?? localGradients(model);
    await removeOrphanTempFiles(runDir);
    if (existing !== null) {
      iter = existing.iteration;
      epoch = existing.epoch;
      lastCheckpoint = iter;
      await log.truncateAfter(iter, (problem) => say(`${problem}; it is left out of the log`));
      say(`resuming ${runDir} from iteration ${iter} (epoch ${epoch})`);
    } else {
      if (options.resume) say(`no checkpoint in ${runDir}; starting from iteration 0`);
      await fs.rm(log.path, { force: true });
      if (options.config !== undefined)
        await writeFileAtomic(join(runDir, CONFIG_FILE), JSON.stringify(options.config, null, 2) + '\n');
    }

    const checkpoint = async (): Promise<void> => {
      if (lastCheckpoint === iter) return;
      await saveCheckpoint(
        runDir,
        {
          iteration: iter,
          epoch,
          weights: savedWeights(model),
          optimizer: optimizer!.getState(),
          modelState: model.getState(),
          loaderState: source.getState(),
          randomState: options.random?.getState() ?? null,
        },
        {
          keep: options.keepCheckpoints ?? 2,
          ...(options.checkpointBeforeRename ? { beforeRename: options.checkpointBeforeRename } : {}),
        },
      );
      lastCheckpoint = iter;
    };

    let lastEval: Record<string, number> | null = null;
    let evaluatedAt = -1;
    const evaluate = async (): Promise<void> => {
      if (options.evaluate === undefined || evaluatedAt === iter) return;
      const metrics = await options.evaluate({ iter, epoch });
      evaluatedAt = iter;
      lastEval = metrics;
      await log.append({ mode: 'val', iter, epoch, ...metrics });
      say(
        `eval @${iter}: ` +
          Object.entries(metrics)
            .map(([k, v]) => `${k} ${v.toFixed(4)}`)
            .join('  '),
      );
    };

    if (options.progress ?? true)
      progress = new Progress({ total: maxIters, start: iter, plainEvery: logInterval });
    const t0 = performance.now();
    let windowStart = t0;
    let windowImages = 0;
    let windowSteps = 0;
    let windowLoss = 0;
    const windowTerms: Record<string, number> = {};
    let lastLoss = NaN;
    let stopped = false;

    while (iter < maxIters) {
      const batch = await source.next();
      let step;
      try {
        step = await gradients(batch);
      } finally {
        batch.dispose();
      }
      const { grads, loss, terms } = step;
      let norm: number;
      try {
        norm = globalNorm(grads);
        if (!Number.isFinite(loss) || !Number.isFinite(norm))
          throw new NonFiniteLossError(iter + 1, loss, terms, norm, lastCheckpoint);
        const lr = lrAt(iter);
        optimizer!.step(grads, lr, clipCoefficient(norm, maxNorm));
      } finally {
        tf.dispose(grads);
      }
      iter++;
      epoch = batch.epoch;
      lastLoss = loss;
      windowImages += batch.images;
      windowSteps++;
      windowLoss += loss;
      for (const [k, v] of Object.entries(terms)) windowTerms[k] = (windowTerms[k] ?? 0) + v;

      const now = performance.now();
      const imagesPerSec = windowImages / Math.max(1e-9, (now - windowStart) / 1000);
      const lr = lrAt(iter - 1);
      progress?.update({ iter, loss, imagesPerSec, lr });
      if (iter % logInterval === 0 || iter === maxIters || iter === stopAt) {
        const record: TrainRecord = {
          mode: 'train',
          iter,
          epoch,
          lr,
          loss: windowLoss / windowSteps,
          grad_norm: norm,
          images_per_s: imagesPerSec,
          time: (now - t0) / 1000,
        };
        for (const [k, v] of Object.entries(windowTerms)) record[k] = v / windowSteps;
        await log.append(record);
        windowStart = now;
        windowImages = 0;
        windowSteps = 0;
        windowLoss = 0;
        for (const k of Object.keys(windowTerms)) delete windowTerms[k];
      }
      if (options.afterIteration !== undefined) await options.afterIteration({ iter, epoch });
      if (checkpointInterval > 0 && iter % checkpointInterval === 0) await checkpoint();
      if (evalInterval > 0 && iter % evalInterval === 0) await evaluate();
      if (iter >= stopAt || options.signal?.aborted) {
        stopped = iter < maxIters;
        break;
      }
    }
    await checkpoint();
    if (!stopped && evalInterval > 0) await evaluate();
    progress?.finish();
    return { iteration: iter, epoch, stopped, lastLoss, seconds: (performance.now() - t0) / 1000, lastEval };
  } finally {
    progress?.finish();
    optimizer?.dispose();
    if (options.runLock === undefined) await lock.release();
  }
}

/**
 * Throws unless a session may start in `runDir`: a folder that holds a checkpoint is continued only with
 * `resume` (a fresh run would overwrite it). Reads only.
 */
export async function refuseUnlessResumable(runDir: string, resume: boolean): Promise<void> {
  if (resume || !(await hasCheckpoint(runDir))) return;
  throw new Error(
    `train: ${runDir} already holds a checkpoint; resume it (--resume) or choose another run folder (--out)`,
  );
}

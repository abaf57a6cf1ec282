/**
 * A detector training run from a resolved config: read (or generate) the data, build the RetinaNet, train it
 * with periodic COCO evaluation, evaluate the final weights on the whole validation split, and leave everything
 * in the run folder. Also reopens a finished run (`loadRun`) for `predict` and `eval --run`.
 *
 * Run folder: `config.json` (resolved config), `log.jsonl`, `checkpoint.json` + `ckpt-*` (see checkpoint.ts),
 * `categories.json` (class index -> dataset category id and name), and after the final evaluation
 * `eval.json` (COCO stats), `results_val.json` (validation detections, COCO result format, xywh) and the final
 * model as `model.json` + `weights.bin` (TF.js weights manifest + ghmdet config, with the category names as
 * class names: `loadRetinaNet(runDir)` in Node, `loadRetinaNet('<url>/model.json')` in a browser).
 * With `train.grad_stats_interval` K > 0, `analysis/grad_stats_iter_NNNNNN.json` every K iterations
 * (src/analysis/runFiles.ts), measured on one fixed batch: the first batch of a separate, unflipped loader over
 * the training split, so the statistics consume neither the training loader's state nor any random state.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseConfig,
  retinaNetConfigOf,
  trainerUpdate,
  type DataConfig,
  type GhmdetConfig,
} from '../config.js';
import { readCocoDataset } from '../data/coco.js';
import type { DetectionDataset } from '../data/dataset.js';
import { ensureShapesDataset, shapesSplitPaths, type ShapesOptions } from '../data/shapes.js';
import { readVocDataset } from '../data/voc.js';
import { gradientStatsHook } from '../analysis/gradientStatsHook.js';
import type { ModelSource } from '../detector/modelIO.js';
import { saveRetinaNet } from '../detector/nodeModelIO.js';
import { describeHolder } from '../utils/fileLock.js';
import { formatInitReport, initFromModelDir } from '../detector/initFrom.js';
import { RetinaNet } from '../detector/retinaNet.js';
import type { CocoEvalResult } from '../eval/cocoEval.js';
import type { CocoDetection, CocoGroundTruth } from '../eval/cocoTypes.js';
import { buildLoss } from '../losses/index.js';
import { writeFileAtomic } from './atomicFile.js';
import { hasCheckpoint, loadCheckpoint, type CheckpointData } from './checkpoint.js';
import { holdRunFolder } from './runLock.js';
import {
  cocoEvalHook,
  detectImages,
  evaluateDetector,
  groundTruthOf,
  loadDatasetImages,
} from './cocoValidation.js';
import { startDataParallelTraining, type DataParallelTraining } from './dataParallelTraining.js';
import { DetectorBatches } from './detectorBatches.js';
import { detectorTrainable, type DetectorBatch } from './detectorTrainable.js';
import type { SourcedBatch } from './trainable.js';
import { CONFIG_FILE, refuseUnlessResumable, restoreWeights, train, type TrainResult } from './trainer.js';

export const CATEGORIES_FILE = 'categories.json';
export const EVAL_FILE = 'eval.json';
export const VAL_RESULTS_FILE = 'results_val.json';

export interface RunData {
  train: DetectionDataset;
  val: DetectionDataset;
}

/** Reads the training and validation splits; a shapes dataset is generated into `data.root` when absent. */
export async function loadData(data: DataConfig, log: (line: string) => void = () => {}): Promise<RunData> {
  switch (data.type) {
    case 'shapes': {
      const summary = await ensureShapesDataset(
        data.root,
        data.shapes as ShapesOptions,
        (reason, o) =>
          log(
            `generating shapes dataset in ${data.root} (${o.train} train / ${o.val} val images` +
              `${
                reason === 'absent'
                  ? ''
                  : reason === 'incomplete'
                    ? ', replacing the one there, whose image files are not all there'
                    : ', replacing the one there, made with other parameters'
              })`,
          ),
        (holder) =>
          log(
            `waiting for ${describeHolder(holder)}, which is generating the shapes dataset in ${data.root}`,
          ),
      );
      log(
        `${summary.generated ? 'generated' : 'found'} shapes dataset in ${data.root}: ` +
          `${summary.train.images} train / ${summary.val.images} val images`,
      );
      const read = (split: 'train' | 'val') => {
        const p = shapesSplitPaths(data.root, split);
        return readCocoDataset({ annotationFile: p.annotationFile, imageRoot: p.imageRoot });
      };
      return { train: await read('train'), val: await read('val') };
    }
    case 'coco': {
      const read = (s: NonNullable<DataConfig['train']>) =>
        readCocoDataset({
          annotationFile: join(data.root, s.ann_file),
          imageRoot: join(data.root, s.img_prefix ?? ''),
        });
      return { train: await read(data.train!), val: await read(data.val!) };
    }
    case 'voc':
      return {
        train: await readVocDataset({ root: data.root, split: data.train!.ann_file }),
        val: await readVocDataset({ root: data.root, split: data.val!.ann_file }),
      };
  }
}

/** The class index -> category mapping a run records, so predictions speak the dataset's category ids. */
export interface RunCategory {
  id: number;
  name: string;
}

/** Fills in `model.classNames` from the dataset and checks `numClasses` against it. */
export function bindCategories(config: GhmdetConfig, dataset: DetectionDataset): GhmdetConfig {
  const k = dataset.categories.length;
  if (config.model.numClasses !== k)
    throw new Error(
      `model.numClasses is ${config.model.numClasses} but the dataset has ${k} categories ` +
        `(${dataset.categories.map((c) => c.name).join(', ')}); set model.numClasses to ${k}`,
    );
  const names = dataset.categories.map((c) => c.name);
  return { ...config, model: { ...config.model, classNames: config.model.classNames ?? names } };
}

export function buildModel(config: GhmdetConfig): RetinaNet {
  return new RetinaNet(retinaNetConfigOf(config.model), { seed: config.train.seed, buildLoss });
}

export interface TrainDetectorOptions {
  runDir: string;
  resume?: boolean;
  /** Progress bar on stderr. Default true. */
  progress?: boolean;
  /** Status lines. Default: stderr. */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /**
   * Data-parallel replicas (the calling thread and `workers - 1` worker threads, src/train/dataParallelTraining.ts);
   * `data.batch_size` must be a multiple. A run is resumed with the same count. Default: the config's
   * `train.workers`.
   */
  workers?: number;
}

export interface TrainDetectorResult {
  config: GhmdetConfig;
  model: RetinaNet;
  data: RunData;
  train: TrainResult;
  /** Evaluation of the final weights on the whole validation split; null when the run was interrupted. */
  evaluation: CocoEvalResult | null;
  detections: CocoDetection[];
}

/**
 * The data-parallel replicas a run uses on `backend`: those requested, except on `tensorflow` (tfjs-node), whose
 * own thread pool already uses every core (and whose native addon would have to load once per worker thread);
 * there the run trains on one replica, and `note` says so.
 */
export function replicasFor(requested: number, backend: string): { workers: number; note: string | null } {
  if (requested === 1 || backend !== 'tensorflow') return { workers: requested, note: null };
  return {
    workers: 1,
    note:
      `train.workers ${requested}: training on one replica, since the tensorflow backend already uses every ` +
      'core (worker-thread replicas are for the single-threaded wasm and cpu backends)',
  };
}

/**
 * Trains, evaluates and writes the run folder; the caller disposes `model`. Every check that can refuse the run
 * (config against the data, the folder's lock, an existing checkpoint without `resume`, a resume on other
 * categories) passes before anything is written to the run folder.
 */
export async function trainDetector(
  input: GhmdetConfig,
  options: TrainDetectorOptions,
): Promise<TrainDetectorResult> {
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const data = await loadData(input.data, log);
  const config = bindCategories(input, data.train);
  const categories: RunCategory[] = data.train.categories.map((c) => ({ id: c.id, name: c.name }));
  const requested = options.workers ?? config.train.workers;
  if (!Number.isInteger(requested) || requested < 1)
    throw new Error(`trainDetector: workers must be an integer >= 1, got ${requested}`);
  const source = DetectorBatches.forTraining(data.train, {
    batchSize: config.data.batch_size,
    flipRatio: config.data.flip_ratio,
    seed: config.data.seed,
    preprocess: config.model.preprocess,
  });
  const rule = trainerUpdate(config.train, source.batchesPerEpoch);
  const periodicImages =
    config.eval.interval > 0 ? await loadDatasetImages(data.val, config.eval.max_images ?? undefined) : [];
  const initial = config.train.load_from === null ? null : await readInitialWeights(config.train.load_from);

  await mkdir(options.runDir, { recursive: true });
  const lock = await holdRunFolder(options.runDir, log);
  let model: RetinaNet | null = null;
  let statsBatch: SourcedBatch<DetectorBatch> | null = null;
  let parallel: DataParallelTraining | null = null;
  try {
    await refuseUnlessResumable(options.runDir, options.resume ?? false);
    const categoriesFile = join(options.runDir, CATEGORIES_FILE);
    const recorded = options.resume ? await readRunCategories(options.runDir) : null;
    if (recorded !== null && JSON.stringify(recorded) !== JSON.stringify(categories))
      throw new Error(
        `train: ${categoriesFile} records the categories ${describeCategories(recorded)}, but the dataset has ` +
          `${describeCategories(categories)}; resume with the run's own dataset, or train in a new folder`,
      );
    model = buildModel(config);
    log(
      `model: RetinaNet, ${model.numParameters().toLocaleString('en-US')} parameters, ${config.model.numClasses} classes`,
    );
    // A resumed run continues from its checkpoint; a new one starts from init_from's weights when given.
    const resuming = options.resume === true && (await hasCheckpoint(options.runDir));
    if (config.model.init_from !== undefined && !resuming)
      log(formatInitReport(await initFromModelDir(model, config.model.init_from)));
    if (initial !== null && !resuming) {
      try {
        restoreWeights(detectorTrainable(model), initial.weights);
      } catch (err) {
        throw new Error(
          `train.load_from: the weights of ${config.train.load_from} do not fit this model: ` +
            `${(err as Error).message}; load_from needs a run of the same architecture`,
        );
      }
      log(`weights from ${config.train.load_from} (its iteration ${initial.iteration})`);
    }
    if (recorded === null) await writeFileAtomic(categoriesFile, JSON.stringify(categories, null, 2) + '\n');
    const t = config.train;
    const m = model;
    const gradStats =
      t.grad_stats_interval > 0
        ? gradientStatsHook({
            model: m,
            runDir: options.runDir,
            every: t.grad_stats_interval,
            batch: async () => {
              statsBatch ??= await DetectorBatches.forTraining(data.train, {
                batchSize: config.data.batch_size,
                flipRatio: 0,
                seed: config.data.seed,
                preprocess: config.model.preprocess,
              }).next();
              return statsBatch.data;
            },
          })
        : null;
    const { workers, note } = replicasFor(requested, tf.getBackend());
    if (note !== null) log(note);
    if (workers > 1) {
      parallel = await startDataParallelTraining(
        model,
        {
          config,
          batchesPerEpoch: source.batchesPerEpoch,
          resumeFrom: options.resume ? options.runDir : null,
        },
        workers,
      );
      log(`data-parallel training on ${workers} replicas (${config.data.batch_size / workers} images each)`);
    }
    const trainResult = await train(detectorTrainable(model), source, {
      runDir: options.runDir,
      runLock: lock,
      ...rule,
      ...(parallel !== null ? { gradients: parallel.gradients } : {}),
      logInterval: t.log_interval,
      checkpointInterval: t.checkpoint_interval,
      keepCheckpoints: t.keep_checkpoints,
      evalInterval: config.eval.interval,
      evaluate: cocoEvalHook(model, data.val, periodicImages),
      resume: options.resume ?? false,
      config: JSON.parse(JSON.stringify(config)),
      progress: options.progress ?? true,
      message: log,
      ...(gradStats !== null ? { afterIteration: gradStats } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (parallel !== null) await parallel.assertReplicasIdentical();
    if (trainResult.stopped)
      return { config, model, data, train: trainResult, evaluation: null, detections: [] };
    log(`evaluating on ${data.val.images.length} validation images`);
    const valImages = await loadDatasetImages(data.val);
    const { result, detections } = evaluateDetector(model, data.val, valImages);
    await writeFileAtomic(
      join(options.runDir, EVAL_FILE),
      JSON.stringify(
        { iter: trainResult.iteration, stats: result.stats, statsNames: result.statsNames },
        null,
        2,
      ) + '\n',
    );
    await writeFileAtomic(join(options.runDir, VAL_RESULTS_FILE), JSON.stringify(detections));
    await saveRetinaNet(model, options.runDir, { classNames: categories.map((c) => c.name) });
    return { config, model, data, train: trainResult, evaluation: result, detections };
  } catch (err) {
    (model as RetinaNet | null)?.dispose();
    throw err;
  } finally {
    (statsBatch as SourcedBatch<DetectorBatch> | null)?.dispose();
    await (parallel as DataParallelTraining | null)?.close();
    await lock.release();
  }
}

/** The current checkpoint of the run folder `train.load_from` names; an error when it has none. */
async function readInitialWeights(runDir: string): Promise<CheckpointData> {
  const ckpt = await loadCheckpoint(runDir);
  if (ckpt === null)
    throw new Error(
      `train.load_from: ${runDir} holds no checkpoint (checkpoint.json); expected the folder of a trained run`,
    );
  return ckpt;
}

function describeCategories(categories: readonly RunCategory[]): string {
  return `[${categories.map((c) => `${c.id} ${c.name}`).join(', ')}]`;
}

/** The run's `categories.json`, or null when it has none; throws, naming the file, when it is damaged. */
export async function readRunCategories(runDir: string): Promise<RunCategory[] | null> {
  const path = join(runDir, CATEGORIES_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${path} is damaged: it is not valid JSON (${(err as Error).message}); it maps the model's classes to ` +
        "the dataset's category ids: restore it, or write it again from the training annotations",
    );
  }
  const ok =
    Array.isArray(json) &&
    json.length > 0 &&
    json.every(
      (c: unknown) =>
        typeof c === 'object' &&
        c !== null &&
        Number.isInteger((c as RunCategory).id) &&
        typeof (c as RunCategory).name === 'string',
    );
  if (!ok)
    throw new Error(
      `${path} is damaged: expected a non-empty list of {id, name} categories, got ${text.slice(0, 60)}; ` +
        "it maps the model's classes to the dataset's category ids: restore it, or write it again from the " +
        'training annotations',
    );
  return (json as RunCategory[]).map((c) => ({ id: c.id, name: c.name }));
}

export interface LoadedRun {
  config: GhmdetConfig;
  model: RetinaNet;
  categories: RunCategory[];
  iteration: number;
}

/** Rebuilds a run's model from its `config.json` and loads the weights of its current checkpoint. */
export async function loadRun(runDir: string): Promise<LoadedRun> {
  const configPath = join(runDir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (err) {
    throw new Error(
      `${runDir} is not a run folder: ${configPath} could not be read (${(err as Error).message})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${configPath} is damaged: it is ${text === '' ? 'empty' : `not valid JSON (${(err as Error).message})`}; ` +
        "it holds the run's resolved config, without which the model cannot be rebuilt: restore it from a " +
        'backup, or write the config the run was trained with there',
    );
  }
  const config = parseConfig(json, configPath);
  const ckpt = await loadCheckpoint(runDir);
  if (ckpt === null)
    throw new Error(`${runDir} has no checkpoint (checkpoint.json); has the run saved one yet?`);
  const model = buildModel(config);
  try {
    restoreWeights(detectorTrainable(model), ckpt.weights);
  } catch (err) {
    model.dispose();
    throw err;
  }
  let categories: RunCategory[];
  try {
    // A run folder without categories.json (written by an early version) maps class k to id k + 1.
    categories =
      (await readRunCategories(runDir)) ??
      Array.from({ length: config.model.numClasses }, (_, k) => ({
        id: k + 1,
        name: config.model.classNames?.[k] ?? String(k),
      }));
    if (categories.length !== config.model.numClasses)
      throw new Error(
        `${join(runDir, CATEGORIES_FILE)} lists ${categories.length} categories, the model has ` +
          `${config.model.numClasses} classes (${configPath}); the run folder mixes two runs`,
      );
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { config, model, categories, iteration: ckpt.iteration };
}

/**
 * Ground truth and detections of a run's current checkpoint on its validation split (what `ghmdet eval --run`
 * scores). `dataRoot` overrides the config's `data.root`.
 */
export async function runValidationInputs(
  runDir: string,
  options: { dataRoot?: string } = {},
): Promise<{ gt: CocoGroundTruth; dets: CocoDetection[]; iteration: number }> {
  const { config, model, iteration } = await loadRun(runDir);
  try {
    const dataConfig =
      options.dataRoot !== undefined ? { ...config.data, root: options.dataRoot } : config.data;
    const { val } = await loadData(dataConfig);
    const images = await loadDatasetImages(val);
    const dets = detectImages(
      model,
      images,
      val.categories.map((c) => c.id),
    );
    return { gt: groundTruthOf(val, images), dets, iteration };
  } finally {
    model.dispose();
  }
}

/**
 * Writes a run's current checkpoint as model files (TF.js weights manifest + ghmdet config) with the class
 * names of its `categories.json`: into the run folder by default, or to any destination `saveRetinaNet` takes.
 * For runs trained before the run folder held them.
 */
export async function exportRunModel(runDir: string, destination: ModelSource = runDir): Promise<void> {
  const { model, categories } = await loadRun(runDir);
  try {
    await saveRetinaNet(model, destination, { classNames: categories.map((c) => c.name) });
  } finally {
    model.dispose();
  }
}

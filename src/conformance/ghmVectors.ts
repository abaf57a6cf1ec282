/**
 * Runs reference vector files of the `ghm-vectors/1` format (described in the repository's
 * `test/fixtures/README.md`, which also says where the files come from) against this library: GHM-C, GHM-R and
 * the companion losses (sigmoid focal, BCE with logits, smooth L1, ASL1).
 *
 * For every call of a file, in order on one freshly built loss: the loss value, the gradient w.r.t. `pred`
 * (through `tf.valueAndGrad`), and for GHM losses `tot`, the bin counts, the number of non-empty bins, the EMA
 * state after the call and (when the file has them) the per-element weights, all against the float32
 * expectations, with the tolerances the README recommends. Dispatch is on the file's `loss` field and
 * `target_form`, never on its name; unknown kinds fail with a reason.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { GHMC } from '../losses/ghmC.js';
import { GHMR } from '../losses/ghmR.js';
import { sigmoidFocalLoss } from '../losses/focal.js';
import { bceWithLogitsLoss } from '../losses/bce.js';
import { smoothL1Loss } from '../losses/smoothL1.js';
import { asl1Loss } from '../losses/asl1.js';
import type { ReduceOptions } from '../losses/reduce.js';
import type { GHMStats } from '../losses/ghmC.js';

export const VECTOR_FORMAT = 'ghm-vectors/1';

/** Tolerances (README "Expectations"), against the float32 expectations. */
export const TOLERANCES = {
  /** |a - b| <= lossRel * |b| + 1e-12 */
  lossRel: 1e-5,
  /** per element, relative */
  accSumRel: 1e-6,
  /** |a - b| <= gradRel * max_abs + 1e-12 */
  gradRel: 1e-5,
  /** per-element GHM weights, relative */
  weightsRel: 1e-6,
};

export type VectorDtype = 'float32' | 'float64' | 'int32' | 'uint8';

/** One encoded array: row-major, `data` (flat list) or `b64` (little-endian raw bytes of `dtype`). */
export interface EncodedTensor {
  dtype: VectorDtype;
  shape: number[];
  data?: number[];
  b64?: string;
}

export interface DecodedTensor {
  dtype: VectorDtype;
  shape: number[];
  values: Float32Array | Float64Array | Int32Array | Uint8Array;
}

/** Decodes one encoded array; errors name the field. */
export function decodeTensor(spec: EncodedTensor, field = 'tensor'): DecodedTensor {
  if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.shape)) {
    throw new Error(
      `${field}: expected {dtype, shape, data | b64}, got ${JSON.stringify(spec)?.slice(0, 80)}`,
    );
  }
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const ctor = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array }[
    spec.dtype
  ];
  if (ctor === undefined) {
    throw new Error(
      `${field}: dtype ${JSON.stringify(spec.dtype)}, expected float32, float64, int32 or uint8`,
    );
  }
  let values: DecodedTensor['values'];
  if (Array.isArray(spec.data)) {
    values = ctor.from(spec.data);
  } else if (typeof spec.b64 === 'string') {
    const buf = Buffer.from(spec.b64, 'base64');
    const bytes = new Uint8Array(buf.length);
    bytes.set(buf); // copy: the Buffer's offset need not be aligned
    if (bytes.length % ctor.BYTES_PER_ELEMENT !== 0) {
      throw new Error(
        `${field}: b64 holds ${bytes.length} bytes, not a multiple of ${ctor.BYTES_PER_ELEMENT}`,
      );
    }
    values = new ctor(bytes.buffer, 0, bytes.length / ctor.BYTES_PER_ELEMENT);
  } else {
    throw new Error(`${field}: has neither \`data\` nor \`b64\``);
  }
  if (values.length !== size) {
    throw new Error(
      `${field}: holds ${values.length} values, expected ${size} for shape [${spec.shape.join(', ')}]`,
    );
  }
  return { dtype: spec.dtype, shape: spec.shape, values };
}

/** A tf tensor from a decoded array: int32 stays int32 (labels), everything else becomes float32. */
function toTensor(d: DecodedTensor): tf.Tensor {
  return d.dtype === 'int32'
    ? tf.tensor(d.values as Int32Array, d.shape, 'int32')
    : tf.tensor(Float32Array.from(d.values), d.shape, 'float32');
}

interface Expected {
  loss: number;
  tot?: number;
  bin_counts?: number[];
  n_nonempty?: number;
  acc_sum?: number[] | null;
  grad_pred?: EncodedTensor;
  grad_stats?: { max_abs: number };
  weights?: EncodedTensor;
}

/** A parsed vector file (only the fields the runner uses are typed). */
export interface VectorFile {
  format: string;
  name: string;
  loss: string;
  config: Record<string, unknown>;
  target_form?: string;
  num_classes?: number;
  calls: { inputs: Record<string, EncodedTensor>; expected: { float32: Expected } }[];
}

/** Outcome of one file. */
export interface FileResult {
  file: string;
  name: string;
  loss: string;
  calls: number;
  passed: boolean;
  /** Reasons, e.g. `call 2: loss 0.51 vs 0.52 (rel 2e-2)`; empty when passed. */
  failures: string[];
}

/** The `*.json` files of a folder, sorted (not recursive). Throws when the folder does not exist. */
export function listVectorFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`conformance: vector folder ${JSON.stringify(dir)} does not exist or is not a folder`);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

/** Reads and checks the envelope of a vector file. */
export function loadVectorFile(path: string): VectorFile {
  const v = JSON.parse(readFileSync(path, 'utf8')) as VectorFile;
  if (v === null || typeof v !== 'object' || v.format !== VECTOR_FORMAT) {
    throw new Error(
      `format is ${JSON.stringify((v as { format?: unknown })?.format)}, expected "${VECTOR_FORMAT}"`,
    );
  }
  if (!Array.isArray(v.calls) || v.calls.length === 0) throw new Error('`calls` is missing or empty');
  if (typeof v.loss !== 'string') throw new Error('`loss` is missing');
  return v;
}

function num(config: Record<string, unknown>, key: string, fallback?: number): number {
  const v = config[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number') throw new Error(`config.${key} is ${JSON.stringify(v)}, expected a number`);
  return v;
}

function reduceOptionsOf(config: Record<string, unknown>): ReduceOptions {
  const r = config['reduction'];
  if (r === 'mean') return { reduction: 'mean' };
  if (r === 'sum') return { reduction: 'sum' };
  if (r === 'sum_over_avg_factor') return { reduction: 'mean', avgFactor: num(config, 'avg_factor') };
  throw new Error(`config.reduction is ${JSON.stringify(r)}, expected mean, sum or sum_over_avg_factor`);
}

/** A loss under test: called once per vector call with the decoded inputs. */
interface Runner {
  call(inputs: Record<string, tf.Tensor>): tf.Tensor;
  stats(): GHMStats | null;
  dispose(): void;
}

function needInput(inputs: Record<string, tf.Tensor>, key: string): tf.Tensor {
  const t = inputs[key];
  if (t === undefined) throw new Error(`inputs.${key} is missing`);
  return t;
}

/** The options GHM-C and GHM-R share, from the file's config (mmdetection names). */
function ghmOptions(
  config: Record<string, unknown>,
  recordWeights: boolean,
): { bins: number; momentum: number; lossWeight: number; recordWeights: boolean } {
  return {
    bins: num(config, 'bins'),
    momentum: num(config, 'momentum'),
    lossWeight: num(config, 'loss_weight', 1),
    recordWeights,
  };
}

/** A GHM loss called with the file's `pred`, `target` and `label_weight`. */
function ghmRunner(loss: GHMC | GHMR): Runner {
  return {
    call: (i) => loss.call(needInput(i, 'pred'), needInput(i, 'target'), needInput(i, 'label_weight')),
    stats: () => loss.lastStats(),
    dispose: () => loss.dispose(),
  };
}

function makeRunner(v: VectorFile): Runner {
  const c = v.config ?? {};
  const wantWeights = v.calls.some((k) => k.expected?.float32?.weights !== undefined);
  switch (v.loss) {
    case 'ghmc': {
      if (v.target_form !== 'onehot' && v.target_form !== 'labels') {
        throw new Error(`ghmc target_form ${JSON.stringify(v.target_form)}, expected "onehot" or "labels"`);
      }
      if (c['use_sigmoid'] === false)
        throw new Error('ghmc with use_sigmoid false is not supported (the reference requires true)');
      return ghmRunner(new GHMC(ghmOptions(c, wantWeights)));
    }
    case 'ghmr': {
      if (v.target_form !== undefined && v.target_form !== 'regression') {
        throw new Error(`ghmr target_form ${JSON.stringify(v.target_form)}, expected "regression"`);
      }
      return ghmRunner(new GHMR({ mu: num(c, 'mu'), ...ghmOptions(c, wantWeights) }));
    }
    case 'sigmoid_focal':
    case 'bce_with_logits':
    case 'smooth_l1':
    case 'asl1': {
      const r = reduceOptionsOf(c);
      const fn = {
        sigmoid_focal: (p: tf.Tensor, t: tf.Tensor, w?: tf.Tensor) =>
          sigmoidFocalLoss(p, t, w, { ...r, alpha: num(c, 'alpha'), gamma: num(c, 'gamma') }),
        bce_with_logits: (p: tf.Tensor, t: tf.Tensor, w?: tf.Tensor) => bceWithLogitsLoss(p, t, w, r),
        smooth_l1: (p: tf.Tensor, t: tf.Tensor, w?: tf.Tensor) =>
          smoothL1Loss(p, t, w, { ...r, beta: num(c, 'beta') }),
        asl1: (p: tf.Tensor, t: tf.Tensor, w?: tf.Tensor) => asl1Loss(p, t, w, { ...r, mu: num(c, 'mu') }),
      }[v.loss];
      return {
        call: (i) => fn(needInput(i, 'pred'), needInput(i, 'target'), i['weight']),
        stats: () => null,
        dispose: () => undefined,
      };
    }
    default:
      throw new Error(
        `unknown loss kind ${JSON.stringify(v.loss)}; known: ghmc, ghmr, sigmoid_focal, bce_with_logits, smooth_l1, asl1`,
      );
  }
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
}

function compareArrays(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  ok: (a: number, b: number) => boolean,
): string | null {
  if (got.length !== want.length) return `${what}: ${got.length} values, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (!ok(got[i]!, want[i]!)) return `${what}[${i}] = ${got[i]}, expected ${want[i]}`;
  }
  return null;
}

/** Checks one call's results against the float32 expectations; returns the failure reasons. */
function compareCall(
  e: Expected,
  loss: number,
  grad: Float32Array,
  gradShape: number[],
  stats: GHMStats | null,
  weights: Float32Array | null,
  isGhm: boolean,
): string[] {
  const out: string[] = [];
  if (typeof e.loss !== 'number') out.push('expected.float32.loss is missing');
  else if (!(Math.abs(loss - e.loss) <= TOLERANCES.lossRel * Math.abs(e.loss) + 1e-12)) {
    out.push(`loss ${loss} vs ${e.loss} (rel ${relErr(loss, e.loss).toExponential(2)})`);
  }
  if (e.grad_pred !== undefined) {
    const want = decodeTensor(e.grad_pred, 'expected.float32.grad_pred');
    if (want.shape.join() !== gradShape.join()) out.push(`grad shape [${gradShape}] vs [${want.shape}]`);
    let maxAbs = e.grad_stats?.max_abs;
    if (maxAbs === undefined) {
      maxAbs = 0;
      for (const v of want.values) maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const tol = TOLERANCES.gradRel * maxAbs + 1e-12;
    const r = compareArrays('grad', grad, want.values, (a, b) => Math.abs(a - b) <= tol);
    if (r !== null) out.push(`${r} (tolerance ${tol.toExponential(2)})`);
  } else {
    out.push('expected.float32.grad_pred is missing');
  }
  if (!isGhm) return out;
  if (stats === null) return [...out, 'no statistics recorded by the GHM loss'];
  if (e.tot !== undefined && stats.tot !== e.tot) out.push(`tot ${stats.tot} vs ${e.tot}`);
  if (e.n_nonempty !== undefined && stats.nNonEmpty !== e.n_nonempty) {
    out.push(`n_nonempty ${stats.nNonEmpty} vs ${e.n_nonempty}`);
  }
  if (e.bin_counts !== undefined) {
    const r = compareArrays('bin_counts', stats.binCounts, e.bin_counts, (a, b) => a === b);
    if (r !== null) out.push(r);
  }
  if (e.acc_sum !== undefined) {
    if (e.acc_sum === null) {
      if (stats.accSum !== null) out.push('acc_sum: expected null (momentum 0), got a state');
    } else if (stats.accSum === null) {
      out.push('acc_sum: expected a state, got null');
    } else {
      const r = compareArrays(
        'acc_sum',
        stats.accSum,
        e.acc_sum,
        (a, b) => Math.abs(a - b) <= TOLERANCES.accSumRel * Math.abs(b) + 1e-12,
      );
      if (r !== null) out.push(r);
    }
  }
  if (e.weights !== undefined) {
    const want = decodeTensor(e.weights, 'expected.float32.weights');
    if (weights === null) out.push('weights: not recorded');
    else {
      const r = compareArrays(
        'weights',
        weights,
        want.values,
        (a, b) => Math.abs(a - b) <= TOLERANCES.weightsRel * Math.abs(b) + 1e-12,
      );
      if (r !== null) out.push(r);
    }
  }
  return out;
}

/** Runs every call of a parsed vector file on the current backend. Never throws: errors become failures. */
export function runVectorFile(v: VectorFile, file = v.name): FileResult {
  const result: FileResult = {
    file,
    name: v.name,
    loss: v.loss,
    calls: v.calls.length,
    passed: false,
    failures: [],
  };
  let runner: Runner;
  try {
    runner = makeRunner(v);
  } catch (err) {
    result.failures.push(err instanceof Error ? err.message : String(err));
    return result;
  }
  const isGhm = v.loss === 'ghmc' || v.loss === 'ghmr';
  try {
    v.calls.forEach((call, k) => {
      const inputs: Record<string, tf.Tensor> = {};
      try {
        for (const [key, spec] of Object.entries(call.inputs ?? {}))
          inputs[key] = toTensor(decodeTensor(spec, `inputs.${key}`));
        const pred = needInput(inputs, 'pred');
        const { value, grad } = tf.valueAndGrad(
          (p: tf.Tensor) => runner.call({ ...inputs, pred: p }) as tf.Scalar,
        )(pred);
        const loss = value.dataSync()[0]!;
        const g = grad.dataSync() as Float32Array;
        const gradShape = grad.shape;
        value.dispose();
        grad.dispose();
        const stats = runner.stats();
        const weights = stats?.weights !== undefined ? (stats.weights.dataSync() as Float32Array) : null;
        const e = call.expected?.float32;
        if (e === undefined) throw new Error('expected.float32 is missing');
        for (const f of compareCall(e, loss, g, gradShape, stats, weights, isGhm))
          result.failures.push(`call ${k + 1}: ${f}`);
      } catch (err) {
        result.failures.push(`call ${k + 1}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        tf.dispose(Object.values(inputs));
      }
    });
  } finally {
    runner.dispose();
  }
  result.passed = result.failures.length === 0;
  return result;
}

/** Loads and runs one file; a file that cannot be read or parsed is a failed result. */
export function runVectorPath(path: string): FileResult {
  let v: VectorFile;
  try {
    v = loadVectorFile(path);
  } catch (err) {
    return {
      file: basename(path),
      name: basename(path),
      loss: '?',
      calls: 0,
      passed: false,
      failures: [err instanceof Error ? err.message : String(err)],
    };
  }
  return runVectorFile(v, basename(path));
}

/** One line per result: `PASS name (loss, k calls)` or `FAIL name: first reasons`. */
export function formatResult(r: FileResult): string {
  if (r.passed) return `PASS ${r.file} (${r.loss}, ${r.calls} call${r.calls === 1 ? '' : 's'})`;
  const shown = r.failures.slice(0, 3).join('; ');
  const more = r.failures.length > 3 ? ` (+${r.failures.length - 3} more)` : '';
  return `FAIL ${r.file} (${r.loss}): ${shown}${more}`;
}

/**
 * The loss factory in mmdetection's config vocabulary, used by the detector: `buildLoss(cfg)` with `cfg` a
 * discriminated union on `type`, validated with zod (errors name the field, the expectation and the value).
 * One `type -> factory` map, no registry. Every built loss multiplies by `loss_weight` and follows the
 * detector's contract: classification `pred [N, C]` logits, `target [N, C]` one-hot, `weight [N, C]`; regression
 * `pred/target/weight [N, 4]`; `avgFactor = max(1, #positive anchors)`, ignored by the GHM losses.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as z from 'zod';
import { GHMC, type GHMStats } from './ghmC.js';
import { GHMR } from './ghmR.js';
import { sigmoidFocalLoss } from './focal.js';
import { bceWithLogitsLoss } from './bce.js';
import { ohemLoss } from './ohem.js';
import { smoothL1Loss } from './smoothL1.js';
import { l1Loss } from './l1.js';
import { asl1Loss } from './asl1.js';
import type { GradientDensityState } from './gradientDensity.js';
import { issueLines } from '../utils/configIssues.js';
import { didYouMean } from '../utils/didYouMean.js';

/** A factor on the loss: finite and >= 0 (0 switches the term off; a negative weight would maximise the loss). */
const lossWeight = z.number().finite().min(0).default(1);
const bins = z.number().int().min(1);
const momentum = z.number().min(0).lt(1);
const mu = z.number().finite().gt(0);

/** zod schema of a loss config. Defaults are those of the paper's RetinaNet-GHM configs / mmdetection. */
export const lossConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('GHMC'),
    bins: bins.default(30),
    momentum: momentum.default(0.75),
    use_sigmoid: z.literal(true).default(true),
    loss_weight: lossWeight,
  }),
  z.strictObject({
    type: z.literal('GHMR'),
    mu: mu.default(0.02),
    bins: bins.default(10),
    momentum: momentum.default(0.7),
    loss_weight: lossWeight,
  }),
  z.strictObject({
    type: z.literal('FocalLoss'),
    alpha: z.number().max(1).default(0.25),
    gamma: z.number().min(0).default(2),
    use_sigmoid: z.literal(true).default(true),
    loss_weight: lossWeight,
  }),
  z.strictObject({
    type: z.literal('CrossEntropyLoss'),
    use_sigmoid: z.literal(true),
    loss_weight: lossWeight,
  }),
  z.strictObject({
    type: z.literal('OHEMLoss'),
    neg_pos_ratio: z.number().min(0).default(3),
    min_neg: z.number().int().min(0).default(100),
    loss_weight: lossWeight,
  }),
  z.strictObject({
    type: z.literal('SmoothL1Loss'),
    beta: z.number().min(0).default(0.11),
    loss_weight: lossWeight,
  }),
  z.strictObject({ type: z.literal('L1Loss'), loss_weight: lossWeight }),
  z.strictObject({ type: z.literal('ASL1Loss'), mu: mu.default(0.02), loss_weight: lossWeight }),
]);

/** A loss config as written (defaults optional). */
export type LossConfigInput = z.input<typeof lossConfigSchema>;
/** A validated loss config, defaults filled in. */
export type LossConfigParsed = z.output<typeof lossConfigSchema>;
export type LossType = LossConfigParsed['type'];

/** State a built loss saves in checkpoints: the GHM EMA, or null for stateless losses. */
export type LossState = GradientDensityState | null;

/** A built loss, as the detector uses it. */
export interface BuiltLoss {
  readonly type: LossType;
  readonly config: LossConfigParsed;
  /**
   * @param pred `[N, C]` logits or `[N, 4]` deltas. @param target same shape (one-hot / encoded deltas).
   * @param weight same shape (0 = ignored). @param opts `avgFactor` = max(1, #positive anchors) (GHM ignores it).
   * @returns the scalar loss, multiplied by `loss_weight`.
   */
  call(
    pred: tf.Tensor,
    target: tf.Tensor,
    weight: tf.Tensor | undefined,
    opts?: { avgFactor?: number },
  ): tf.Scalar;
  getState(): LossState;
  setState(state: unknown): void;
  /** Statistics of the last call (GHM losses only; null otherwise or before the first call). */
  lastStats(): GHMStats | null;
  /** Ask a GHM loss to keep the per-element weights of each call in `lastStats().weights` (no-op otherwise). */
  setRecordWeights(on: boolean): void;
  /** Releases tensors held by the loss (recorded weights). */
  dispose(): void;
}

/** Options of {@link buildLoss}. */
export interface BuildLossOptions {
  /** Value checks on every call (one small read-back); default true. Turn off for training speed. */
  validate?: boolean;
}

/** Validates a loss config; errors name the field, the expectation and what was got. */
export function parseLossConfig(cfg: unknown): LossConfigParsed {
  const r = lossConfigSchema.safeParse(cfg);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  let got: unknown = cfg;
  for (const k of issue.path) got = (got as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey];
  const type = (cfg as { type?: unknown } | null)?.type;
  if (issue.code === 'unrecognized_keys') {
    const known = knownLossFields(type);
    const keys = issue.keys.map((k) => `\`${k}\``).join(', ');
    const hint = issue.keys.length === 1 ? didYouMean(issue.keys[0]!, known) : '';
    return fail(
      `buildLoss: loss config of type ${JSON.stringify(type)} has unknown field ${keys}; ` +
        (hint !== '' ? hint : `its fields are ${known.join(', ')}`),
    );
  }
  const where = path === '' ? 'loss config' : `loss config field \`${path}\``;
  const hint =
    path === ''
      ? ' (expected an object {type: GHMC | GHMR | FocalLoss | CrossEntropyLoss | OHEMLoss | SmoothL1Loss | L1Loss | ASL1Loss, ...})'
      : path === 'type'
        ? ''
        : ` (type ${JSON.stringify(type)})`;
  return fail(`buildLoss: ${where}: ${issue.message}; got ${JSON.stringify(got)}${hint}`);
}

/** The fields of the loss config of `type`, or [] for an unknown type. */
function knownLossFields(type: unknown): string[] {
  const option = lossConfigSchema.options.find((o) => o.shape.type.value === type);
  return option === undefined ? [] : Object.keys(option.shape);
}

/**
 * The problems of a loss config as `path: message` lines, each path after `prefix` (e.g.
 * `['model', 'head', 'loss_cls']`); [] when it is valid. For config files, which report every problem at once.
 */
export function lossConfigProblems(cfg: unknown, prefix: readonly PropertyKey[]): string[] {
  const r = lossConfigSchema.safeParse(cfg, { reportInput: true });
  if (r.success) return [];
  const type = (cfg as { type?: unknown } | null)?.type;
  // The issues of the option that `type` selects are relative to that option's object schema.
  const option = lossConfigSchema.options.find((o) => o.shape.type.value === type);
  return issueLines(option ?? lossConfigSchema, r.error.issues, prefix);
}

function fail(message: string): never {
  throw new Error(message);
}

function statelessSetState(type: string): (state: unknown) => void {
  return (state) => {
    if (state !== null && state !== undefined) {
      throw new Error(`buildLoss: ${type} has no state; setState expects null, got ${JSON.stringify(state)}`);
    }
  };
}

/** Builds a loss from its config, e.g. `{ type: 'GHMC', bins: 30, momentum: 0.75, loss_weight: 1 }`. */
export function buildLoss(cfg: unknown, options: BuildLossOptions = {}): BuiltLoss {
  const config = parseLossConfig(cfg);
  const validate = options.validate ?? true;
  const w = config.loss_weight;
  if (config.type === 'GHMC' || config.type === 'GHMR') {
    const ghm =
      config.type === 'GHMC'
        ? new GHMC({ bins: config.bins, momentum: config.momentum, lossWeight: w, validate })
        : new GHMR({ mu: config.mu, bins: config.bins, momentum: config.momentum, lossWeight: w, validate });
    return {
      type: config.type,
      config,
      call: (pred, target, weight) => ghm.call(pred, target, weight, { reduction: 'mean' }) as tf.Scalar,
      getState: () => ghm.getState(),
      setState: (state) => ghm.setState(state as GradientDensityState),
      lastStats: () => ghm.lastStats(),
      setRecordWeights: (on) => {
        ghm.recordWeights = on;
      },
      dispose: () => ghm.dispose(),
    };
  }
  let fn: (p: tf.Tensor, t: tf.Tensor, wt: tf.Tensor | undefined, avgFactor: number | undefined) => tf.Tensor;
  switch (config.type) {
    case 'FocalLoss':
      fn = (p, t, wt, avgFactor) =>
        sigmoidFocalLoss(p, t, wt, { alpha: config.alpha, gamma: config.gamma, avgFactor, validate });
      break;
    case 'CrossEntropyLoss':
      fn = (p, t, wt, avgFactor) => bceWithLogitsLoss(p, t, wt, { avgFactor, validate });
      break;
    case 'OHEMLoss':
      fn = (p, t, wt, avgFactor) =>
        ohemLoss(p, t, wt, {
          negPosRatio: config.neg_pos_ratio,
          minNeg: config.min_neg,
          avgFactor,
          validate,
        });
      break;
    case 'SmoothL1Loss':
      fn = (p, t, wt, avgFactor) => smoothL1Loss(p, t, wt, { beta: config.beta, avgFactor, validate });
      break;
    case 'L1Loss':
      fn = (p, t, wt, avgFactor) => l1Loss(p, t, wt, { avgFactor, validate });
      break;
    case 'ASL1Loss':
      fn = (p, t, wt, avgFactor) => asl1Loss(p, t, wt, { mu: config.mu, avgFactor, validate });
      break;
  }
  return {
    type: config.type,
    config,
    call: (pred, target, weight, opts) =>
      tf.tidy(() => {
        const l = fn(pred, target, weight, opts?.avgFactor);
        return (w === 1 ? l : tf.mul(l, w)) as tf.Scalar;
      }),
    getState: () => null,
    setState: statelessSetState(config.type),
    lastStats: () => null,
    setRecordWeights: () => undefined,
    dispose: () => undefined,
  };
}

/**
 * Initialising a detector from a model directory (`ghmdet train --init MODEL_DIR`, `model.init_from`): every
 * variable whose logical name and shape match a tensor there is loaded, the rest keep their initialisation and
 * are reported. An imported ImageNet backbone (`weights: 'backbone'`) fills the backbone only; a detector with
 * other classes fills everything but the classification output (`head/retina_cls`, whose shape follows the
 * number of classes), like mmdetection's `load_from` with a new `num_classes`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readModelDirTensors } from './modelDir.js';
import type { RetinaNet } from './retinaNet.js';

/** One variable left at its initialisation, and why. */
export interface SkippedTensor {
  name: string;
  reason: string;
}

export interface InitReport {
  /** The model directory. */
  from: string;
  /** Logical names of the variables loaded. */
  loaded: string[];
  skipped: SkippedTensor[];
}

const NOT_THERE = 'not in the model directory';

/** Loads every matching variable of `model` from the model directory `dir`. */
export async function initFromModelDir(model: RetinaNet, dir: string): Promise<InitReport> {
  const tensors = await readModelDirTensors(dir);
  try {
    const loaded: string[] = [];
    const skipped: SkippedTensor[] = [];
    for (const [name, v] of model.namedVariables()) {
      const t = tensors[name];
      if (t === undefined) skipped.push({ name, reason: NOT_THERE });
      else if (t.shape.join(',') !== v.shape.join(','))
        skipped.push({ name, reason: `shape [${t.shape}] there, [${v.shape}] here` });
      else {
        v.assign(t);
        loaded.push(name);
      }
    }
    if (loaded.length === 0)
      throw new Error(
        `init from ${dir}: no tensor matches the model by name and shape (${skipped.length} variables); ` +
          'was the directory written for another architecture?',
      );
    return { from: dir, loaded, skipped };
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/**
 * "loaded N tensors, skipped M: ..." with the skipped names (grouped by component and reason when many:
 * `neck/* (14, not in the model directory)`).
 */
export function formatInitReport(r: InitReport): string {
  const head = `init from ${r.from}: loaded ${r.loaded.length} tensors, skipped ${r.skipped.length}`;
  if (r.skipped.length === 0) return head;
  if (r.skipped.length <= 6) return `${head}: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}`;
  const groups = new Map<string, number>();
  for (const s of r.skipped) {
    const key = `${s.name.split('/')[0]}/*|${s.reason.startsWith('shape') ? 'shapes differ' : s.reason}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const parts = [...groups].map(([key, n]) => {
    const [prefix, reason] = key.split('|');
    return `${prefix} (${n}, ${reason})`;
  });
  return `${head}: ${parts.join(', ')}`;
}

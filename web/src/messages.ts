/** The messages between the playground page and its training worker. */
import type { Detection, GradientStats } from 'ghmdet/detector';
import type { ClsLossName, StepRecord } from './session.js';

/** Backends the page offers; 'auto' times a few training steps on each available one and keeps the fastest. */
export type BackendChoice = 'auto' | 'wasm' | 'webgl' | 'cpu';

export interface StartMessage {
  type: 'start';
  clsLoss: ClsLossName;
  backend: BackendChoice;
  /**
   * wasm build: 0 = single-threaded; -1 = the threaded build with its own pool size (hardware threads / 2);
   * N > 0 = the threaded build with N threads. The threaded build needs a cross-origin isolated page.
   */
  wasmThreads: number;
  batchSize: number;
  /** Gradient statistics and validation detections about once a second (false: steps only, for timing). */
  figures: boolean;
  /** Stop after this many steps (0: until stopped). */
  iterations: number;
  seed: number;
}

export type ToWorker = StartMessage | { type: 'stop' };

/** The backend the worker trains on, and why. */
export interface BackendReport {
  type: 'backend';
  name: string;
  /** wasm only: threads in the pool (1 = the single-threaded build). */
  threads: number | null;
  /** How it was chosen, in words. */
  reason: string;
  /** Training-step images/s measured per candidate ('auto' only). */
  measured: Record<string, number | string>;
}

/** A validation image for display: RGB bytes. */
export interface ValImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface Progress {
  type: 'progress';
  /** Steps done since the last report. */
  steps: StepRecord[];
  /** Training-step throughput over the last steps. */
  imagesPerSecond: number;
  /** Gradient statistics on the fixed batch (about once a second). */
  stats?: GradientStats;
  /** GHM-C's bin weights of its last training call (with the EMA), when GHM-C trains. */
  ghmWeights?: number[] | null;
  /** Validation images, sent once. */
  valImages?: ValImage[];
  /** Detections on the validation images (about once a second). */
  detections?: Detection[][];
}

export type FromWorker =
  BackendReport | Progress | { type: 'done'; iteration: number } | { type: 'error'; message: string };

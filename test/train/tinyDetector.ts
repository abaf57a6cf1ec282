/**
 * The tiny detector the trainer tests share: the shapes preset shrunk to 8 channels everywhere, on 64x64 inputs,
 * so a training step takes milliseconds.
 */
export const TINY_MODEL = {
  preset: 'shapes',
  numClasses: 4,
  backbone: { stemChannels: 8, widths: [8, 8, 8, 8] },
  neck: { outChannels: 8 },
  head: { stackedConvs: 1, featChannels: 8 },
  preprocess: { img_scale: [64, 64] },
} as const;

/** The `data` section of a tiny shapes dataset of `train` + `val` 64x64 images under `root`. */
export function tinyShapesData(root: string, batchSize: number, val = 2) {
  return { type: 'shapes', root, shapes: { train: 8, val, size: 64 }, batch_size: batchSize };
}

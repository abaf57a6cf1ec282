/**
 * Converts the state dict of a PyTorch shapes RetinaNet with plain module names into ghmdet's variable names
 * and layouts, so the same weights can run in both (forward, loss and gradient comparisons).
 *
 * PyTorch module layout understood (NCHW, `nn.Conv2d` weights `[Cout, Cin, kh, kw]`):
 *   stem.0 conv, stem.1 BN                         -> backbone/stem/{conv,bn}
 *   l{s}.0.0 conv, l{s}.0.1 BN (stride-2 down conv) -> backbone/stage{s}/down/{conv,bn}
 *   l{s}.{b+1}.a.{0,1}, l{s}.{b+1}.b.{0,1}          -> backbone/stage{s}/block{b}/{conv1,conv2}/{conv,bn}
 *   lat.{i}, sm.{i}                                -> neck/lateral{i}, neck/fpn{i}
 *   cls.{2j} (j < stacked), cls.{2 * stacked}      -> head/cls_convs{j}, head/retina_cls (box.* -> reg)
 * BN `weight`, `bias`, `running_mean`, `running_var` become `gamma`, `beta`, `moving_mean`, `moving_variance`;
 * conv weights are transposed to ghmdet's `[kh, kw, Cin, Cout]`. The head's output channels are ordered
 * (anchor, class) in both (PyTorch permutes NCHW to NHWC before its reshape), so they need no reordering.
 */
import { permute, type DumpedTensor } from './tensorDump.js';

const BN_FIELDS: Record<string, string> = {
  weight: 'gamma',
  bias: 'beta',
  running_mean: 'moving_mean',
  running_var: 'moving_variance',
};

/** The ghmdet name of a PyTorch state-dict key, or null for keys ghmdet has no counterpart of. */
export function ghmdetName(torchKey: string, stackedConvs: number): string | null {
  if (torchKey.endsWith('num_batches_tracked')) return null;
  const parts = torchKey.split('.');
  const field = parts.pop()!;
  const conv = (path: string): string => `${path}/${field === 'weight' ? 'kernel' : 'bias'}`;
  const convBn = (path: string, which: string): string =>
    which === '0' ? `${path}/conv/kernel` : `${path}/bn/${BN_FIELDS[field]!}`;
  const [m, a, b, c, d] = parts;
  if (m === 'stem') return convBn('backbone/stem', a!);
  const stage = /^l(\d)$/.exec(m!);
  if (stage !== null) {
    const s = stage[1]!;
    if (a === '0') return convBn(`backbone/stage${s}/down`, b!);
    const block = `backbone/stage${s}/block${Number(a) - 1}`;
    if (b === 'a') return convBn(`${block}/conv1`, c!);
    if (b === 'b') return convBn(`${block}/conv2`, c!);
  }
  if (m === 'lat') return conv(`neck/lateral${a}`);
  if (m === 'sm') return conv(`neck/fpn${a}`);
  if (m === 'cls' || m === 'box') {
    const i = Number(a);
    const branch = m === 'cls' ? 'cls' : 'reg';
    if (i === 2 * stackedConvs) return conv(`head/retina_${branch}`);
    if (i % 2 === 0) return conv(`head/${branch}_convs${i / 2}`);
  }
  void d;
  throw new Error(`ghmdetName: no ghmdet counterpart known for the PyTorch key ${JSON.stringify(torchKey)}`);
}

/** A PyTorch tensor in ghmdet's layout: 4-D conv weights to `[kh, kw, Cin, Cout]`, the rest as they are. */
export function toGhmdetLayout(t: DumpedTensor): DumpedTensor {
  return t.shape.length === 4 ? permute(t, [2, 3, 1, 0]) : t;
}

/** Converts a state dict (PyTorch key -> tensor) to ghmdet names and layouts. */
export function convertStateDict(
  stateDict: Map<string, DumpedTensor>,
  stackedConvs: number,
): Map<string, DumpedTensor> {
  const out = new Map<string, DumpedTensor>();
  for (const [key, t] of stateDict) {
    const name = ghmdetName(key, stackedConvs);
    if (name !== null) out.set(name, toGhmdetLayout(t));
  }
  return out;
}

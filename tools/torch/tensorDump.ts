/**
 * A folder of named float32 tensors written by `dump_reference.py`: `manifest.json`
 * (`{ tensors: [{ name, shape, offset }], ... }`, offsets in bytes) beside `data.bin` (little-endian float32,
 * row-major, PyTorch's own layouts: convolution weights `[Cout, Cin, kh, kw]`, activations `[B, C, H, W]`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One tensor of a dump. */
export interface DumpedTensor {
  shape: number[];
  values: Float32Array;
}

/** The tensors of a dump by name, and the manifest's other fields. */
export interface TensorDump {
  tensors: Map<string, DumpedTensor>;
  meta: Record<string, unknown>;
}

/** Reads the dump folder `dir`. */
export function readTensorDump(dir: string): TensorDump {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    tensors: { name: string; shape: number[]; offset: number }[];
  } & Record<string, unknown>;
  const bin = readFileSync(join(dir, 'data.bin'));
  const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const tensors = new Map<string, DumpedTensor>();
  for (const t of manifest.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    tensors.set(t.name, { shape: t.shape, values: new Float32Array(buffer, t.offset, size) });
  }
  const { tensors: _unused, ...meta } = manifest;
  return { tensors, meta };
}

/** `[d0, d1, ..., dn]` values permuted by `perm` (a row-major transpose in JS). */
export function permute(t: DumpedTensor, perm: number[]): DumpedTensor {
  const rank = t.shape.length;
  if (perm.length !== rank) throw new Error(`permute: perm has ${perm.length} axes, the tensor ${rank}`);
  const shape = perm.map((p) => t.shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= t.shape[i]!;
  }
  const out = new Float32Array(t.values.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i]! * inStrides[perm[i]!]!;
    out[o] = t.values[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < shape[i]!) break;
      idx[i] = 0;
    }
  }
  return { shape, values: out };
}

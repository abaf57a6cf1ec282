/**
 * Importing a PyTorch checkpoint into a ghmdet model directory: runs `tools/torch_to_ghmdet.py` (Python 3 with
 * torch and numpy; no mmdetection or torchvision needed) and returns its report. `ghmdet import` is this.
 *
 * The interpreter is `GHMDET_PYTHON` or `python3`. Errors name what is missing: the interpreter, torch, or the
 * checkpoint tensor that does not match the architecture.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Architectures the exporter converts (tools/torch_to_ghmdet.py has the details). */
export const TORCH_ARCHS = [
  'torchvision_retinanet_v1',
  'torchvision_retinanet_v2',
  'mmdet_retinanet',
  'torchvision_resnet50',
] as const;
export type TorchArch = (typeof TORCH_ARCHS)[number];

/** The exporter's exit status when torch or numpy is missing. */
const EXIT_MISSING_DEPENDENCY = 3;

export interface TorchImportOptions {
  arch: TorchArch;
  /** Model directory to write. */
  out: string;
  /** Replace model files already in `out`. Default false. */
  force?: boolean;
  /** BatchNorm epsilon (default: the architecture's; torchvision v1 COCO weights: 0). */
  bnEps?: number;
  /** GroupNorm groups of a torchvision v2 head (default 32). */
  gnGroups?: number;
  /** `[long, short]` resize bound of the model (default [1333, 800]). */
  imgScale?: [number, number];
  /** torchvision_resnet50: classes of the detector config written with the backbone (default 80). */
  numClasses?: number;
  /** JSON of `[{id, name}]` per class index, or a COCO annotation file. */
  categories?: string;
  /** mmdet_retinanet: the run's merged mmdetection config, when the checkpoint's meta has none. */
  mmdetConfig?: string;
  /** Python interpreter; default `GHMDET_PYTHON` or `python3`. */
  python?: string;
}

/** The exporter's report (its `--json` line). */
export interface TorchImportReport {
  arch: TorchArch;
  out: string;
  tensors: number;
  values: number;
  dropped: { name: string; why: string }[];
  weights: 'all' | 'backbone';
  config_source: string;
  config: unknown;
}

/** Path of tools/torch_to_ghmdet.py (shipped with the package). */
export function exporterScript(): string {
  return fileURLToPath(new URL('../../tools/torch_to_ghmdet.py', import.meta.url));
}

/** The exporter's command-line arguments for `checkpoint` and `options`. */
export function exporterArgs(checkpoint: string, o: TorchImportOptions): string[] {
  const args = [exporterScript(), checkpoint, '--arch', o.arch, '--out', o.out, '--json'];
  if (o.force) args.push('--force');
  if (o.bnEps !== undefined) args.push('--bn-eps', String(o.bnEps));
  if (o.gnGroups !== undefined) args.push('--gn-groups', String(o.gnGroups));
  if (o.imgScale !== undefined) args.push('--img-scale', `${o.imgScale[0]},${o.imgScale[1]}`);
  if (o.numClasses !== undefined) args.push('--num-classes', String(o.numClasses));
  if (o.categories !== undefined) args.push('--categories', o.categories);
  if (o.mmdetConfig !== undefined) args.push('--mmdet-config', o.mmdetConfig);
  return args;
}

/** Converts `checkpoint` (a .pth file) into the model directory `options.out`. */
export async function importTorchCheckpoint(
  checkpoint: string,
  options: TorchImportOptions,
): Promise<TorchImportReport> {
  if (!(TORCH_ARCHS as readonly string[]).includes(options.arch))
    throw new Error(
      `arch ${JSON.stringify(options.arch)} is unknown; expected one of ${TORCH_ARCHS.join(', ')}`,
    );
  try {
    if (!(await stat(checkpoint)).isFile()) throw new Error('not a file');
  } catch {
    throw new Error(`checkpoint ${checkpoint} does not exist or is not a file`);
  }
  const python = options.python ?? process.env['GHMDET_PYTHON'] ?? 'python3';
  const { code, stdout, stderr } = await run(python, exporterArgs(checkpoint, options));
  if (code === null)
    throw new Error(
      `${python} could not be started (${stderr}); ghmdet import runs tools/torch_to_ghmdet.py with ` +
        'Python 3, torch and numpy: install them, or point GHMDET_PYTHON at an interpreter that has them',
    );
  if (code === EXIT_MISSING_DEPENDENCY)
    throw new Error(`${stderr.trim().replace(/^torch_to_ghmdet\.py: /, '')}; or set GHMDET_PYTHON`);
  if (code !== 0)
    throw new Error(
      stderr.trim().replace(/^torch_to_ghmdet\.py: /, '') || `the exporter exited with status ${code}`,
    );
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as TorchImportReport;
  } catch {
    throw new Error(`the exporter's report is not JSON: ${line.slice(0, 200)}`);
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: null, stdout, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

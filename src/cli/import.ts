/**
 * `ghmdet import CHECKPOINT --arch NAME --out DIR [options]`: converts a PyTorch checkpoint (torchvision
 * RetinaNet v1/v2, mmdetection v2 RetinaNet, a torchvision ResNet classifier) into a ghmdet model directory with
 * tools/torch_to_ghmdet.py (Python 3 with torch and numpy; src/interop/torchImport.ts). The directory works
 * wherever a model is read: `predict --model`, `eval --model`, `train --init`, `loadRetinaNet` in a page.
 */
import {
  EXIT,
  InvalidArgumentError,
  Option,
  action,
  integer,
  newCommand,
  numberIn,
  required,
  runCommand,
  type Command,
} from './command.js';

/** The architectures, as src/interop/torchImport.ts lists them (kept here so --help needs no import). */
const ARCHS = [
  'torchvision_retinanet_v1',
  'torchvision_retinanet_v2',
  'mmdet_retinanet',
  'torchvision_resnet50',
];

interface ImportFlags {
  arch: (typeof ARCHS)[number];
  out: string;
  force?: boolean;
  numClasses?: number;
  categories?: string;
  mmdetConfig?: string;
  imgScale?: [number, number];
  bnEps?: number;
  gnGroups?: number;
}

/** `1333,800` -> [1333, 800]. */
function imgScale(value: string): [number, number] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || !parts.every((n) => Number.isInteger(n) && n > 0))
    throw new InvalidArgumentError('Expected LONG,SHORT: two positive integers, e.g. 1333,800.');
  return [parts[0]!, parts[1]!];
}

export function command(): Command {
  const cmd = newCommand('import', {
    summary: 'convert a PyTorch RetinaNet or ResNet checkpoint into a ghmdet model directory',
    usage: 'CHECKPOINT --arch NAME --out DIR [options]',
    details:
      'Runs tools/torch_to_ghmdet.py with Python 3, torch and numpy (GHMDET_PYTHON names the interpreter, ' +
      'default python3); mmdetection and torchvision are not needed. Every tensor is mapped by name and shape; ' +
      'a checkpoint that does not match the architecture is refused, naming the tensor. ' +
      'torchvision_resnet50 keeps the backbone only, for train --init.',
  })
    .argument('<CHECKPOINT>', 'the .pth file (a state_dict, an mmdetection or a torchvision checkpoint)')
    .addOption(
      required(
        new Option('--arch <NAME>', `the checkpoint's architecture: ${ARCHS.join(', ')}`).choices(ARCHS),
      ),
    )
    .addOption(required(new Option('--out <DIR>', 'model directory to write (model.json, weights.bin)')))
    .addOption(new Option('--force', 'replace the model files already in --out'))
    .addOption(
      new Option(
        '--num-classes <N>',
        'torchvision_resnet50: classes of the detector the backbone goes into (default: 80)',
      ).argParser(integer(1)),
    )
    .addOption(
      new Option(
        '--categories <FILE>',
        'category of each class: a JSON [{id, name}] list or a COCO annotation file',
      ),
    )
    .addOption(
      new Option(
        '--mmdet-config <FILE>',
        "mmdet_retinanet: the run's merged config, if the checkpoint has none",
      ),
    )
    .addOption(
      new Option('--img-scale <SPEC>', 'LONG,SHORT resize bound of the model (default: 1333,800)').argParser(
        imgScale,
      ),
    )
    .addOption(
      new Option(
        '--bn-eps <FRACTION>',
        'BatchNorm epsilon (default: 0 for torchvision_retinanet_v1, whose COCO weights run with 0; else 1e-5)',
      ).argParser(numberIn(0, 1)),
    )
    .addOption(
      new Option(
        '--gn-groups <N>',
        'torchvision_retinanet_v2: GroupNorm groups of the head (default: 32)',
      ).argParser(integer(1)),
    );
  return action<ImportFlags>(cmd, importCheckpoint);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

async function importCheckpoint(flags: ImportFlags, args: string[]): Promise<number> {
  const { importTorchCheckpoint } = await import('../interop/torchImport.js');
  const checkpoint = args[0]!;
  const report = await importTorchCheckpoint(checkpoint, {
    arch: flags.arch as Parameters<typeof importTorchCheckpoint>[1]['arch'],
    out: flags.out,
    ...(flags.force ? { force: true } : {}),
    ...(flags.numClasses !== undefined ? { numClasses: flags.numClasses } : {}),
    ...(flags.categories !== undefined ? { categories: flags.categories } : {}),
    ...(flags.mmdetConfig !== undefined ? { mmdetConfig: flags.mmdetConfig } : {}),
    ...(flags.imgScale !== undefined ? { imgScale: flags.imgScale } : {}),
    ...(flags.bnEps !== undefined ? { bnEps: flags.bnEps } : {}),
    ...(flags.gnGroups !== undefined ? { gnGroups: flags.gnGroups } : {}),
  });
  const dropped = new Map<string, number>();
  for (const d of report.dropped) dropped.set(d.why, (dropped.get(d.why) ?? 0) + 1);
  process.stderr.write(
    `imported ${checkpoint} (${report.arch}): ${report.tensors} tensors, ` +
      `${report.values.toLocaleString('en-US')} values into ${report.out}` +
      (report.weights === 'backbone' ? ' (backbone only: use it with train --init)' : '') +
      `; behaviour from ${report.config_source}` +
      (dropped.size > 0 ? `; dropped ${[...dropped].map(([why, n]) => `${n} (${why})`).join(', ')}` : '') +
      '\n',
  );
  return EXIT.ok;
}

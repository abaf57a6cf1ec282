/**
 * `ghmdet data`: make and inspect datasets.
 *
 *   ghmdet data shapes --out DIR [--train N] [--val M] [--size S] [--seed K]
 *                      [--noise-label F] [--noise-jitter F] [--noise-drop F] | [--noise label=F,jitter=F,drop=F]
 *                      [--classes circle,square,...] [--min-objects N] [--max-objects N] [--max-distractors N]
 *   ghmdet data check  --coco FILE --images DIR
 *   ghmdet data check  --voc ROOT --split NAME [--classes a,b,...]
 *
 * `shapes` writes the synthetic shapes dataset (see src/data/shapes.ts); `check` reads a dataset with full
 * validation and prints its size, its classes and its warnings (once, counted).
 */
import { parseArgs, intFlag, stringFlag, helpText, type FlagSpec, type ParsedArgs } from './args.js';
import { generateShapesDataset, resolveShapesOptions, type ShapesOptions } from '../data/shapes.js';
import { SHAPE_CLASSES, type ShapeClass } from '../data/shapeGeometry.js';
import type { AnnotationNoiseOptions } from '../data/annotationNoise.js';
import { readCocoDataset } from '../data/coco.js';
import { readVocDataset } from '../data/voc.js';
import type { DetectionDataset } from '../data/dataset.js';

export const summary = 'make the synthetic shapes dataset, or check a COCO / VOC dataset';

const shapesSpec: Record<string, FlagSpec> = {
  out: { type: 'string', description: 'output directory (required)' },
  train: { type: 'string', description: 'training images (default 600)' },
  val: { type: 'string', description: 'validation images (default 100)' },
  size: { type: 'string', description: 'image side in pixels (default 128)' },
  seed: { type: 'string', description: 'seed (default 0)' },
  classes: {
    type: 'string',
    description: `comma list from ${SHAPE_CLASSES.join(',')} (default the first 4)`,
  },
  'min-objects': { type: 'string', description: 'objects per image, at least (default 1)' },
  'max-objects': { type: 'string', description: 'objects per image, at most (default 4)' },
  'max-distractors': {
    type: 'string',
    description: 'unannotated distractors per image, at most (default 3)',
  },
  'noise-label': { type: 'string', description: 'fraction of training boxes mislabeled (default 0)' },
  'noise-jitter': { type: 'string', description: 'fraction of training boxes jittered (default 0)' },
  'noise-drop': { type: 'string', description: 'fraction of training boxes dropped (default 0)' },
  noise: { type: 'string', description: 'all three at once: label=F,jitter=F,drop=F' },
  help: { type: 'boolean', description: 'show this help' },
};

const checkSpec: Record<string, FlagSpec> = {
  coco: { type: 'string', description: 'COCO instances JSON file' },
  images: { type: 'string', description: 'image directory of the COCO file' },
  voc: {
    type: 'string',
    description: 'VOC year directory (with Annotations/, JPEGImages/, ImageSets/Main/)',
  },
  split: { type: 'string', description: 'VOC split list name, e.g. trainval' },
  classes: { type: 'string', description: 'VOC class names, comma separated (default the 20 VOC classes)' },
  help: { type: 'boolean', description: 'show this help' },
};

function fractionFlag(command: string, args: ParsedArgs, name: string): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1) {
    throw new Error(`${command}: --${name} expects a fraction in [0, 1], got ${JSON.stringify(v)}`);
  }
  return x;
}

/** Parses `label=0.1,jitter=0.2,drop=0.05` (any subset). */
export function parseNoiseSpec(spec: string): AnnotationNoiseOptions {
  const out: AnnotationNoiseOptions = {};
  for (const part of spec.split(',').filter((p) => p.trim() !== '')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    const x = Number(v);
    if (
      (k !== 'label' && k !== 'jitter' && k !== 'drop') ||
      v === undefined ||
      v === '' ||
      !(x >= 0 && x <= 1)
    ) {
      throw new Error(
        `data shapes: --noise expects label=F,jitter=F,drop=F with fractions in [0, 1], got ${JSON.stringify(part)}`,
      );
    }
    out[k] = x;
  }
  return out;
}

async function shapes(argv: string[]): Promise<number> {
  const cmd = 'data shapes';
  const args = parseArgs(cmd, argv, shapesSpec);
  if (args.flags['help']) {
    console.log(helpText(cmd, 'write the synthetic shapes dataset (COCO format)', shapesSpec));
    return 0;
  }
  const out = stringFlag(args, 'out');
  if (out === undefined) throw new Error(`${cmd}: --out DIR is required`);
  const noiseSpec = stringFlag(args, 'noise');
  const separate = ['noise-label', 'noise-jitter', 'noise-drop'].filter((k) => args.flags[k] !== undefined);
  if (noiseSpec !== undefined && separate.length > 0) {
    throw new Error(`${cmd}: give either --noise or --${separate.join('/--')}, not both`);
  }
  const noise: AnnotationNoiseOptions =
    noiseSpec !== undefined
      ? parseNoiseSpec(noiseSpec)
      : {
          label: fractionFlag(cmd, args, 'noise-label'),
          jitter: fractionFlag(cmd, args, 'noise-jitter'),
          drop: fractionFlag(cmd, args, 'noise-drop'),
        };
  const d = resolveShapesOptions();
  const classes = stringFlag(args, 'classes');
  const options: ShapesOptions = {
    train: intFlag(cmd, args, 'train', d.train),
    val: intFlag(cmd, args, 'val', d.val),
    size: intFlag(cmd, args, 'size', d.size, 16),
    seed: intFlag(cmd, args, 'seed', d.seed),
    minObjects: intFlag(cmd, args, 'min-objects', d.minObjects),
    maxObjects: intFlag(cmd, args, 'max-objects', d.maxObjects),
    maxDistractors: intFlag(cmd, args, 'max-distractors', d.maxDistractors),
    noise,
    ...(classes !== undefined ? { classes: classes.split(',').map((c) => c.trim()) as ShapeClass[] } : {}),
  };
  const t0 = Date.now();
  const s = await generateShapesDataset(out, options);
  const n = s.noiseCounts;
  console.log(
    `shapes: ${s.train.images} train images (${s.train.annotations} boxes), ${s.val.images} val images ` +
      `(${s.val.annotations} boxes) in ${out}, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (n.label + n.jitter + n.drop > 0) {
    console.log(
      `shapes: training-split noise: ${n.label} mislabeled, ${n.jitter} jittered, ${n.drop} dropped of ${n.total}`,
    );
  }
  console.log(`shapes: annotations ${s.train.annotationFile} and ${s.val.annotationFile}`);
  return 0;
}

function report(ds: DetectionDataset): void {
  const perClass = new Array<number>(ds.categories.length).fill(0);
  let crowd = 0;
  let difficult = 0;
  for (const im of ds.images) {
    for (const a of im.annotations) {
      perClass[a.classIndex]!++;
      if (a.iscrowd) crowd++;
      if (a.difficult) difficult++;
    }
  }
  const boxes = perClass.reduce((s, x) => s + x, 0);
  console.log(`dataset: ${ds.images.length} images, ${boxes} boxes (${crowd} crowd, ${difficult} difficult)`);
  console.log(
    `classes: ${ds.categories.map((c, k) => `${k}=${c.name}(id ${c.id}): ${perClass[k]}`).join(', ')}`,
  );
  for (const line of ds.warnings.summary()) console.log(line);
  if (ds.warnings.total === 0) console.log('no warnings');
}

async function check(argv: string[]): Promise<number> {
  const cmd = 'data check';
  const args = parseArgs(cmd, argv, checkSpec);
  if (args.flags['help']) {
    console.log(helpText(cmd, 'read and validate a COCO or VOC dataset', checkSpec));
    return 0;
  }
  const coco = stringFlag(args, 'coco');
  const voc = stringFlag(args, 'voc');
  if ((coco === undefined) === (voc === undefined))
    throw new Error(`${cmd}: give exactly one of --coco FILE or --voc ROOT`);
  if (coco !== undefined) {
    const images = stringFlag(args, 'images');
    if (images === undefined)
      throw new Error(`${cmd}: --coco needs --images DIR (the directory of its file_names)`);
    report(await readCocoDataset({ annotationFile: coco, imageRoot: images }));
  } else {
    const split = stringFlag(args, 'split');
    if (split === undefined) throw new Error(`${cmd}: --voc needs --split NAME (e.g. trainval)`);
    const classes = stringFlag(args, 'classes')
      ?.split(',')
      .map((c) => c.trim());
    report(await readVocDataset({ root: voc!, split, ...(classes ? { classes } : {}) }));
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'shapes') return shapes(rest);
  if (sub === 'check') return check(rest);
  if (sub === undefined || sub === '--help' || sub === 'help') {
    console.log(
      [
        `ghmdet data: ${summary}`,
        '',
        '  ghmdet data shapes --out DIR [options]   (ghmdet data shapes --help)',
        '  ghmdet data check  --coco FILE --images DIR | --voc ROOT --split NAME',
      ].join('\n'),
    );
    return sub === undefined ? 1 : 0;
  }
  throw new Error(`data: unknown subcommand ${JSON.stringify(sub)}; expected shapes or check`);
}

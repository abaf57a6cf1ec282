/**
 * `ghmdet data`: make and inspect datasets.
 *
 *   ghmdet data shapes --out DIR [--train N] [--val N] [--size N] [--seed N] [--classes NAMES]
 *                      [--min-objects N] [--max-objects N] [--max-distractors N]
 *                      [--noise-label FRACTION] [--noise-jitter FRACTION] [--noise-drop FRACTION] | [--noise SPEC]
 *                      [--force]
 *   ghmdet data check  --coco FILE --images DIR [--headers-only]
 *   ghmdet data check  --voc DIR --split NAME [--classes NAMES] [--headers-only]
 *   ghmdet data anchors --config FILE [--data DIR] [--split train|val] [--json]
 *
 * `shapes` writes the synthetic shapes dataset (see src/data/shapes.ts): into a folder that holds none, or holds
 * one made with the same parameters (reused as it is); one made with other parameters is replaced only with
 * `--force`. `check` reads a dataset with full validation and prints its size, its classes and its warnings
 * (once, counted), then checks every image file (src/data/imageCheck.ts: it exists, decodes in full, or with
 * `--headers-only` has a header that decodes, and has the annotated size); bad files are listed by name with a
 * count, and the command fails. A full decode is the default: 600 shapes images (128 px PNG) took 1.1-1.4 s
 * against 0.2-0.7 s for the headers alone; `--headers-only` is for very large datasets. `anchors` counts the
 * positive, negative and ignored anchors that a config's detector assigns on its dataset, every image of the
 * split as training sees it without flips (src/analysis/measureAnchorBalance.ts): the negatives per positive.
 */
import type { AnnotationNoiseOptions } from '../data/annotationNoise.js';
import type { DetectionDataset } from '../data/dataset.js';
import type { ShapeClass } from '../data/shapeGeometry.js';
import { SHAPE_CLASSES } from '../data/shapeGeometry.js';
import { resolveShapesOptions, type ShapesDatasetSummary, type ShapesOptions } from '../data/shapes.js';
import {
  EXIT,
  InvalidArgumentError,
  Option,
  UsageError,
  action,
  backendOption,
  commaList,
  integer,
  newCommand,
  required,
  newGroup,
  numberIn,
  runCommand,
  type Command,
} from './command.js';

export function command(): Command {
  return newGroup(
    'data',
    {
      summary:
        "make the synthetic shapes dataset, check a COCO / VOC dataset, or count a config's anchor assignments",
      usage: 'COMMAND [options]',
    },
    [shapesCommand(), checkCommand(), anchorsCommand()],
  );
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

// ---- data shapes -----------------------------------------------------------------------------------------------

export interface ShapesFlags {
  out: string;
  train: number;
  val: number;
  size: number;
  seed: number;
  classes: string[];
  minObjects: number;
  maxObjects: number;
  maxDistractors: number;
  noiseLabel?: number;
  noiseJitter?: number;
  noiseDrop?: number;
  noise?: AnnotationNoiseOptions;
  force?: boolean;
}

function shapesCommand(): Command {
  const d = resolveShapesOptions();
  const fraction = numberIn(0, 1);
  const cmd = newCommand('shapes', {
    summary: 'write the synthetic shapes dataset (COCO format)',
    usage: '--out DIR [options]',
    details:
      'A folder that already holds the dataset of the same parameters is reused as it is; one made with ' +
      'other parameters is replaced only with --force. Annotation noise applies to the training split only.',
    positionalFlag: '--out',
  })
    .addOption(required(new Option('--out <DIR>', 'dataset folder')))
    .addOption(new Option('--train <N>', 'training images').argParser(integer(0)).default(d.train))
    .addOption(new Option('--val <N>', 'validation images').argParser(integer(0)).default(d.val))
    .addOption(new Option('--size <N>', 'image side in pixels').argParser(integer(16)).default(d.size))
    .addOption(new Option('--seed <N>', 'seed of everything').argParser(integer(0)).default(d.seed))
    .addOption(
      new Option('--classes <NAMES>', `annotated classes, comma-separated, from ${SHAPE_CLASSES.join(',')}`)
        .argParser(commaList)
        .default(d.classes),
    )
    .addOption(
      new Option('--min-objects <N>', 'objects per image, at least')
        .argParser(integer(0))
        .default(d.minObjects),
    )
    .addOption(
      new Option('--max-objects <N>', 'objects per image, at most')
        .argParser(integer(0))
        .default(d.maxObjects),
    )
    .addOption(
      new Option('--max-distractors <N>', 'unannotated distractors per image, at most')
        .argParser(integer(0))
        .default(d.maxDistractors),
    )
    .addOption(
      new Option('--noise-label <FRACTION>', 'fraction of training boxes mislabeled').argParser(fraction),
    )
    .addOption(
      new Option('--noise-jitter <FRACTION>', 'fraction of training boxes jittered').argParser(fraction),
    )
    .addOption(
      new Option('--noise-drop <FRACTION>', 'fraction of training boxes dropped').argParser(fraction),
    )
    .addOption(
      new Option('--noise <SPEC>', 'the three at once, label=F,jitter=F,drop=F (any subset; F a fraction)')
        .argParser(parseNoiseSpec)
        .conflicts(['noiseLabel', 'noiseJitter', 'noiseDrop']),
    )
    .addOption(new Option('--force', 'replace a dataset in --out made with other parameters'));
  return action<ShapesFlags>(cmd, shapes);
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
      throw new InvalidArgumentError(
        `Expected label=F,jitter=F,drop=F with fractions F in [0, 1], got ${JSON.stringify(part)}.`,
      );
    }
    out[k] = x;
  }
  return out;
}

function printSummary(s: ShapesDatasetSummary, seconds: number | null): void {
  const n = s.noiseCounts;
  console.log(
    `shapes: ${s.train.images} train images (${s.train.annotations} boxes), ${s.val.images} val images ` +
      `(${s.val.annotations} boxes) in ${s.dir}` +
      (seconds === null ? '' : `, ${seconds.toFixed(1)} s`),
  );
  if (n.label + n.jitter + n.drop > 0) {
    console.log(
      `shapes: training-split noise: ${n.label} mislabeled, ${n.jitter} jittered, ${n.drop} dropped of ${n.total}`,
    );
  }
  console.log(`shapes: annotations ${s.train.annotationFile} and ${s.val.annotationFile}`);
}

/** The generator's options that `data shapes` flags ask for. */
export function shapesOptionsOf(flags: ShapesFlags): ShapesOptions {
  return {
    train: flags.train,
    val: flags.val,
    size: flags.size,
    seed: flags.seed,
    minObjects: flags.minObjects,
    maxObjects: flags.maxObjects,
    maxDistractors: flags.maxDistractors,
    noise: flags.noise ?? { label: flags.noiseLabel, jitter: flags.noiseJitter, drop: flags.noiseDrop },
    classes: flags.classes as ShapeClass[],
  };
}

async function shapes(flags: ShapesFlags): Promise<number> {
  const { ensureShapesDataset, generateShapesDataset, inspectShapesFolder } =
    await import('../data/shapes.js');
  const options = shapesOptionsOf(flags);
  try {
    resolveShapesOptions(options);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^shapes: /, ''));
  }
  const out = flags.out;
  const state = await inspectShapesFolder(out, options);
  if (state.kind === 'same' && flags.force !== true) {
    console.log(
      `shapes: ${out} already holds this dataset (same parameters); reusing it (--force regenerates it)`,
    );
    printSummary(await ensureShapesDataset(out, options), null);
    return EXIT.ok;
  }
  if (state.kind === 'different' && flags.force !== true) {
    throw new Error(
      `${out} holds a shapes dataset made with other parameters (${state.differences.join('; ')}); ` +
        'give --force to replace it, or another --out',
    );
  }
  if (state.kind === 'unmarked' && flags.force !== true) {
    throw new Error(
      `${out} holds ${state.entries.join(', ')} but no finished shapes dataset (an interrupted generation, or ` +
        'another dataset); give --force to replace them, or another --out',
    );
  }
  const t0 = Date.now();
  printSummary(await generateShapesDataset(out, options), (Date.now() - t0) / 1000);
  return EXIT.ok;
}

// ---- data check ------------------------------------------------------------------------------------------------

interface CheckFlags {
  coco?: string;
  images?: string;
  voc?: string;
  split?: string;
  classes?: string[];
  headersOnly?: boolean;
}

function checkCommand(): Command {
  const cmd = newCommand('check', {
    summary: 'read and validate a COCO or VOC dataset, print its size, classes and warnings',
    usage: '(--coco FILE --images DIR | --voc DIR --split NAME) [options]',
  })
    .addOption(new Option('--coco <FILE>', 'COCO instances JSON file'))
    .addOption(
      new Option('--images <DIR>', 'with --coco: the folder of its images (file_name is relative to it)'),
    )
    .addOption(
      new Option(
        '--voc <DIR>',
        'VOC year folder (with Annotations/, JPEGImages/, ImageSets/Main/)',
      ).conflicts('coco'),
    )
    .addOption(new Option('--split <NAME>', 'with --voc: split list name, e.g. trainval'))
    .addOption(
      new Option(
        '--classes <NAMES>',
        'with --voc: class names, comma-separated (default: the 20 VOC classes)',
      ).argParser(commaList),
    )
    .addOption(
      new Option(
        '--headers-only',
        "check each image's header and size, without decoding it in full (faster on very large datasets; " +
          'a file cut after its header then passes)',
      ),
    );
  return action<CheckFlags>(cmd, check);
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

async function check(flags: CheckFlags): Promise<number> {
  if ((flags.coco === undefined) === (flags.voc === undefined))
    throw new UsageError('give one of --coco FILE or --voc DIR');
  if (flags.coco !== undefined) {
    if (flags.images === undefined)
      throw new UsageError('--coco needs --images DIR (the folder its file_names are relative to)');
    if (flags.split !== undefined || flags.classes !== undefined)
      throw new UsageError('--split and --classes go with --voc, not --coco');
    const { readCocoDataset } = await import('../data/coco.js');
    const ds = await readCocoDataset({
      annotationFile: flags.coco,
      imageRoot: flags.images,
      checkImages: 'none',
    });
    report(ds);
    await checkImages(ds, flags.headersOnly !== true);
  } else {
    if (flags.split === undefined) throw new UsageError('--voc needs --split NAME (e.g. trainval)');
    if (flags.images !== undefined) throw new UsageError('--images goes with --coco, not --voc');
    const { readVocDataset } = await import('../data/voc.js');
    const ds = await readVocDataset({
      root: flags.voc!,
      split: flags.split,
      checkImages: 'none',
      ...(flags.classes !== undefined ? { classes: flags.classes } : {}),
    });
    report(ds);
    await checkImages(ds, flags.headersOnly !== true);
  }
  return EXIT.ok;
}

/** Checks every image file of `ds`, with a progress bar on large datasets; throws listing the bad ones. */
async function checkImages(ds: DetectionDataset, decode: boolean): Promise<void> {
  const { checkImageFiles } = await import('../data/imageCheck.js');
  const { progressBar } = await import('./progressBar.js');
  const bar = await progressBar(ds.images.length, 'images');
  let result;
  try {
    result = await checkImageFiles(ds, { decode, onProgress: (done) => bar?.update(done) });
  } finally {
    bar?.stop();
  }
  const { checked, problems } = result;
  console.log(
    `images: ${checked} checked (${decode ? 'decoded in full' : 'headers and sizes only'}), ` +
      `${problems.length === 0 ? 'all readable' : `${problems.length} bad`}`,
  );
  if (problems.length > 0)
    throw new Error(
      `${problems.length} of ${checked} image files are bad; training would fail on them:\n` +
        problems.map((p) => `  ${p.file} (${p.where}): ${p.problem}`).join('\n'),
    );
}

// ---- data anchors ----------------------------------------------------------------------------------------------

interface AnchorsFlags {
  config: string;
  data?: string;
  split: 'train' | 'val';
  json?: boolean;
  backend?: string;
}

function anchorsCommand(): Command {
  const cmd = newCommand('anchors', {
    summary: "count the positive, negative and ignored anchors a config's assigner gives on its dataset",
    usage: '--config FILE [options]',
    details:
      "Every image of the split goes through the training loader without flips and the detector's own " +
      'target encoding; the counts are exact. A shapes dataset is generated when absent.',
    positionalFlag: '--config',
  })
    .addOption(required(new Option('--config <FILE>', 'config file (its model, data and preprocess)')))
    .addOption(new Option('--data <DIR>', 'dataset folder, overrides data.root'))
    .addOption(new Option('--split <NAME>', 'split to count').choices(['train', 'val']).default('train'))
    .addOption(new Option('--json', 'print the counts as one JSON object'))
    .addOption(backendOption());
  return action<AnchorsFlags>(cmd, anchors);
}

async function anchors(flags: AnchorsFlags): Promise<number> {
  const { loadConfigFile } = await import('../config.js');
  const { setupBackend } = await import('../engine/backend.js');
  const { buildModel, loadData } = await import('../train/detectorRun.js');
  const { measureAnchorBalance } = await import('../analysis/measureAnchorBalance.js');
  let config = await loadConfigFile(flags.config);
  if (flags.data !== undefined) config = { ...config, data: { ...config.data, root: flags.data } };
  await setupBackend({ backend: flags.backend, log: (l) => console.error(l) });
  const data = await loadData(config.data, (l) => console.error(l));
  const model = buildModel(config);
  try {
    const b = await measureAnchorBalance(model, config, data[flags.split]);
    if (flags.json === true) {
      console.log(JSON.stringify({ config: flags.config, split: flags.split, ...b }));
      return EXIT.ok;
    }
    const t = b.total;
    console.log(
      `anchors: ${b.images} ${flags.split} images, ${b.objects} boxes, ${b.anchorsPerImage} anchors per image`,
    );
    console.log(
      `anchors: ${t.positives} positive, ${t.negatives} negative, ${t.ignored} ignored; ` +
        `${b.negativesPerPositive.toFixed(1)} negatives per positive, ${b.positivesPerObject.toFixed(2)} ` +
        `positives per box; ${b.negativePairsPerPositivePair.toFixed(1)} negative per positive (anchor, class) pair`,
    );
    for (const l of b.levels)
      console.log(
        `  stride ${l.stride}: ${l.positives} positive, ${l.negatives} negative, ${l.ignored} ignored`,
      );
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

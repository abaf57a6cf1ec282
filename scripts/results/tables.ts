/**
 * Prints the markdown tables docs/results.md quotes for the imbalance sweep and the GHM-R study, from the raw
 * results scripts/results/collect.ts wrote (docs/results/imbalance.json, docs/results/ghmr.json).
 *
 *   npx tsx scripts/results/tables.ts
 */
import { readIfPresent } from './json.js';

const f1 = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : v.toFixed(1));
const f2 = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : v.toFixed(2));
const mean = (xs: (number | null | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
};

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

interface Scored {
  AP: number | null;
  AP50: number | null;
  AP75: number | null;
  apPerIou: Record<string, number | null> | null;
}

interface ImbalanceRun extends Scored {
  size: number;
  loss: string;
  seed: number;
  finished: boolean;
  iterations: number | null;
  secondsPerIter: number | null;
  trainSeconds: number | null;
}

interface Balance {
  images: number;
  objects: number;
  anchorsPerImage: number;
  total: { positives: number; negatives: number; ignored: number };
  negativesPerPositive: number;
  negativePairsPerPositivePair: number;
  positivesPerObject: number;
}

interface Imbalance {
  points: { size: number; objectsPerImage: [number, number]; valImages: number; anchorBalance: Balance }[];
  ghmdet: ImbalanceRun[];
  oracle: (Scored & { size: number; loss: string; seed: number; trainSeconds: number | null })[];
  oracleTwice?: (Scored & { size: number; loss: string; seed: number; trainSeconds: number | null })[];
}

const LOSSES = ['ce', 'fl', 'ghmc'];
const LOSS_NAMES: Record<string, string> = { ce: 'CE', fl: 'FL', ghmc: 'GHM-C' };

function seedsText(values: (number | null)[]): string {
  const m = mean(values);
  return `${values.map(f1).join(' / ')} (${f1(m)})`;
}

function imbalanceTables(r: Imbalance): string {
  const out: string[] = [];
  out.push(
    table(
      [
        'canvas',
        'objects per image',
        'training images (boxes)',
        'anchors per image',
        'positive / negative / ignored anchors',
        'negatives per positive',
        'negative per positive (anchor, class) pair',
        'positives per box',
      ],
      r.points.map((p) => {
        const b = p.anchorBalance;
        const [lo, hi] = p.objectsPerImage;
        return [
          `${p.size} px`,
          lo === hi ? String(lo) : `${lo}-${hi}`,
          `${b.images} (${b.objects})`,
          String(b.anchorsPerImage),
          `${b.total.positives} / ${b.total.negatives} / ${b.total.ignored}`,
          f1(b.negativesPerPositive),
          f1(b.negativePairsPerPositivePair),
          f2(b.positivesPerObject),
        ];
      }),
    ),
  );
  const ratio = new Map(r.points.map((p) => [p.size, p.anchorBalance.negativesPerPositive]));
  for (const metric of ['AP', 'AP50', 'AP75'] as const) {
    out.push('');
    out.push(`${metric}, each seed in order from seed 0 (mean):`);
    out.push('');
    out.push(
      table(
        [
          'canvas (negatives per positive)',
          ...LOSSES.map((l) => `ghmdet ${LOSS_NAMES[l]}`),
          ...LOSSES.map((l) => `PyTorch ${LOSS_NAMES[l]}`),
        ],
        r.points.map((p) => [
          `${p.size} px (${f1(ratio.get(p.size))})`,
          ...LOSSES.map((l) => {
            // The plan's seeds 0 and 1 (– where not run), then any further seed that finished.
            const done = r.ghmdet.filter((x) => x.size === p.size && x.loss === l && x.finished);
            const extra = done.filter((x) => x.seed > 1).sort((a, b) => a.seed - b.seed);
            return seedsText([
              ...[0, 1].map((s) => done.find((x) => x.seed === s)?.[metric] ?? null),
              ...extra.map((x) => x[metric]),
            ]);
          }),
          ...LOSSES.map((l) => {
            // Every seed the PyTorch implementation was run with, in order (seed 0 first).
            const v = r.oracle
              .filter((x) => x.size === p.size && x.loss === l)
              .sort((a, b) => a.seed - b.seed)
              .map((x) => x[metric]);
            return v.length === 0 ? 'not run' : seedsText(v);
          }),
        ]),
      ),
    );
  }
  const twice = r.oracleTwice ?? [];
  if (twice.length > 0) {
    out.push('');
    out.push('The budget check, the PyTorch implementation, seed 0: AP at the suite schedule / at twice it:');
    out.push('');
    out.push(
      table(
        ['canvas', ...LOSSES.map((l) => LOSS_NAMES[l]!)],
        r.points
          .filter((p) => twice.some((x) => x.size === p.size))
          .map((p) => [
            `${p.size} px`,
            ...LOSSES.map((l) => {
              const one = r.oracle.find((x) => x.size === p.size && x.loss === l && x.seed === 0);
              const two = twice.find((x) => x.size === p.size && x.loss === l && x.seed === 0);
              return `${f1(one?.AP)} / ${f1(two?.AP)}`;
            }),
          ]),
      ),
    );
  }
  out.push('');
  out.push('Cost of each run (training wall time with the periodic evaluations; two runs side by side):');
  out.push('');
  out.push(
    table(
      ['canvas', 'run', 'seed', 'iterations', 's/iter', 'training wall time', 'PyTorch train_s'],
      r.ghmdet.map((x) => [
        `${x.size} px`,
        LOSS_NAMES[x.loss]!,
        String(x.seed),
        String(x.iterations ?? '–'),
        f2(x.secondsPerIter),
        x.trainSeconds === null ? '–' : `${(x.trainSeconds / 60).toFixed(1)} min`,
        (() => {
          const o = r.oracle.find((y) => y.size === x.size && y.loss === x.loss && y.seed === x.seed);
          return o?.trainSeconds ? `${(o.trainSeconds / 60).toFixed(1)} min` : '–';
        })(),
      ]),
    ),
  );
  return out.join('\n');
}

interface GhmrRun extends Scored {
  id: string;
  name: string;
  label: string;
  seed: number;
  finished: boolean;
  trainSeconds: number | null;
  secondsPerIter: number | null;
  final?: { fit: { correlation: number[] } | null; positiveTop1: number | null };
}

interface Ghmr {
  finalStatsImages: number;
  runs: GhmrRun[];
  oracle: (Scored & {
    tag: string;
    like: string;
    iteration: number;
    trainSeconds: number | null;
    final: { fit: { correlation: number[] } | null };
  })[];
}

const STRICT = ['0.75', '0.80', '0.85', '0.90', '0.95'];

function ghmrTables(r: Ghmr): string {
  const out: string[] = [];
  const corr = (fit: { correlation: number[] } | null | undefined) =>
    fit ? fit.correlation.map((c) => c.toFixed(2)).join(' / ') : '–';
  out.push(
    table(
      [
        'from scratch, 1500 iterations',
        'AP',
        'AP50',
        'AP75',
        `correlation dx / dy / dw / dh (${r.finalStatsImages} images)`,
      ],
      [
        ...r.runs
          .filter((x) => x.name.startsWith('scratch-'))
          .map((x) => [`ghmdet ${x.label}`, f1(x.AP), f1(x.AP50), f1(x.AP75), corr(x.final?.fit)]),
        ...r.oracle.map((o) => [
          `PyTorch ${o.like.replace('scratch-', '')}, ${o.iteration} iterations`,
          f1(o.AP),
          f1(o.AP50),
          f1(o.AP75),
          corr(o.final.fit),
        ]),
      ],
    ),
  );
  out.push('');
  const arms = ['base', 'ft-sl1', 'ft-asl1', 'ft-ghmr'];
  const rows: string[][] = [];
  for (const arm of arms) {
    const runs = r.runs.filter((x) => x.name === arm && x.finished);
    for (const x of runs)
      rows.push([x.label, String(x.seed), f1(x.AP), f1(x.AP50), ...STRICT.map((k) => f2(x.apPerIou?.[k]))]);
    if (runs.length > 1)
      rows.push([
        `**${runs[0]!.label}, mean**`,
        '',
        f1(mean(runs.map((x) => x.AP))),
        f1(mean(runs.map((x) => x.AP50))),
        ...STRICT.map((k) => f2(mean(runs.map((x) => x.apPerIou?.[k])))),
      ]);
  }
  out.push(table(['run', 'seed', 'AP', 'AP50', ...STRICT.map((k) => `AP${k.slice(2)}`)], rows));
  out.push('');
  out.push(
    table(
      ['run', 'seed', 's/iter', 'training wall time'],
      r.runs.map((x) => [
        x.id,
        String(x.seed),
        f2(x.secondsPerIter),
        x.trainSeconds === null ? '–' : `${(x.trainSeconds / 60).toFixed(1)} min`,
      ]),
    ),
  );
  return out.join('\n');
}

async function main(): Promise<void> {
  const imbalance = await readIfPresent<Imbalance>('docs/results/imbalance.json');
  if (imbalance !== null) console.log(`## imbalance\n\n${imbalanceTables(imbalance)}\n`);
  const ghmr = await readIfPresent<Ghmr>('docs/results/ghmr.json');
  if (ghmr !== null) console.log(`## ghmr\n\n${ghmrTables(ghmr)}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});

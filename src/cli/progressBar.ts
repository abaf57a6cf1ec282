/**
 * A progress bar on stderr for long, countable work outside training (`data check` over a large dataset), drawn
 * by cli-progress: `[########............] 40% | 2400/6000 images | ETA 12s`. Only on a terminal, and only when
 * the work is large enough to be worth watching; elsewhere (CI, files) nothing is drawn. Training keeps its own
 * line (src/train/progress.ts), which carries the loss, the learning rate and the speed and also writes plain
 * lines to logs.
 */

export interface Bar {
  update(done: number): void;
  stop(): void;
}

/** A bar for `total` items named `unit`, or null when stderr is not a terminal or `total < minTotal`. */
export async function progressBar(total: number, unit: string, minTotal = 500): Promise<Bar | null> {
  if (total < minTotal || process.stderr.isTTY !== true) return null;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: `[{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`,
      stream: process.stderr,
      barsize: 20,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.legacy,
  );
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

/**
 * Training progress on stderr. On a terminal (`isTTY`) one line is redrawn in place with `\r`:
 *   `[#########...........]  120/400  30%  loss 0.8231  3.1 img/s  lr 0.0100  ETA 1:30`
 * Elsewhere (CI, files) a plain line is printed every `plainEvery` iterations and at the end.
 */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Total iterations of the run. */
  total: number;
  /** Iteration the bar starts from (a resumed run). Default 0. */
  start?: number;
  /** Where to draw. Default `process.stderr`. */
  stream?: ProgressStream;
  /** Redraw in place; default `stream.isTTY`. */
  tty?: boolean;
  /** In plain mode, print every this many iterations. Default 10. */
  plainEvery?: number;
  /** Clock in milliseconds (tests). Default `Date.now`. */
  now?: () => number;
}

export interface ProgressUpdate {
  iter: number;
  loss: number;
  imagesPerSec: number;
  lr: number;
}

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

export class Progress {
  private readonly total: number;
  private readonly start: number;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly plainEvery: number;
  private readonly now: () => number;
  private readonly t0: number;
  private drawn = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.start = options.start ?? 0;
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.plainEvery = options.plainEvery ?? 10;
    this.now = options.now ?? Date.now;
    this.t0 = this.now();
  }

  /** The status text for `u` (no bar), with the ETA from the mean speed since the start. */
  line(u: ProgressUpdate): string {
    const done = u.iter - this.start;
    const elapsed = (this.now() - this.t0) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - u.iter) : NaN;
    const pct = this.total > 0 ? Math.floor((100 * u.iter) / this.total) : 100;
    const width = String(this.total).length;
    return (
      `${String(u.iter).padStart(width)}/${this.total} ${String(pct).padStart(3)}%  loss ${u.loss.toFixed(4)}  ` +
      `${u.imagesPerSec.toFixed(1)} img/s  lr ${u.lr.toPrecision(3)}  ETA ${formatDuration(eta)}`
    );
  }

  update(u: ProgressUpdate): void {
    if (this.tty) {
      const barWidth = 20;
      const filled = this.total > 0 ? Math.round((barWidth * u.iter) / this.total) : barWidth;
      const bar = '#'.repeat(filled) + '.'.repeat(barWidth - filled);
      let text = `[${bar}] ${this.line(u)}`;
      const cols = this.stream.columns;
      if (cols !== undefined && text.length > cols - 1) text = text.slice(0, cols - 1);
      this.stream.write(`\r${text}\x1b[K`);
      this.drawn = true;
    } else if (u.iter % this.plainEvery === 0 || u.iter === this.total) {
      this.stream.write(`iter ${this.line(u)}\n`);
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  message(text: string): void {
    if (this.tty && this.drawn) {
      this.stream.write(`\r\x1b[K${text}\n`);
    } else this.stream.write(`${text}\n`);
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

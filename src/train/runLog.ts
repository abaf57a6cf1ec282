/**
 * The run's JSON-lines log (`log.jsonl`): one object per line, `mode: 'train'` for training records and
 * `mode: 'val'` for periodic evaluations (mmdetection's log vocabulary). Every record carries `iter`
 * (completed iterations, 1-based for training records) so a resumed run can drop what came after its checkpoint.
 */
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from './atomicFile.js';

export interface TrainRecord {
  mode: 'train';
  iter: number;
  epoch: number;
  lr: number;
  /** Total loss, mean over the iterations since the previous record. */
  loss: number;
  /** Pre-clip global L2 norm of the gradients of this record's last step. */
  grad_norm: number;
  /** Images per second since the previous record. */
  images_per_s: number;
  /** Seconds since the run (or the resumed session) started. */
  time: number;
  /** Loss terms (`loss_cls`, `loss_bbox`, ...), means over the same iterations as `loss`. */
  [term: string]: number | string;
}

export interface EvalRecord {
  mode: 'val';
  iter: number;
  epoch: number;
  [metric: string]: number | string;
}

export type LogRecord = TrainRecord | EvalRecord;

export class RunLog {
  constructor(readonly path: string) {}

  /** Appends one record (one line). */
  async append(record: LogRecord): Promise<void> {
    await fs.appendFile(this.path, JSON.stringify(record) + '\n');
  }

  /**
   * All records, in order (an absent file reads as none). A torn last line (a process killed while appending)
   * is ignored; any other line that is not a JSON record is damage, reported to `onDamaged` and left out.
   */
  async read(onDamaged: (problem: string) => void = () => {}): Promise<LogRecord[]> {
    let text: string;
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: LogRecord[] = [];
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        record = undefined;
      }
      const ok =
        typeof record === 'object' && record !== null && typeof (record as LogRecord).iter === 'number';
      if (ok) out.push(record as LogRecord);
      // The last line without its newline was cut by a kill; what it held is logged again by the resumed run.
      else if (i < lines.length - 1) onDamaged(`${this.path} line ${i + 1} is damaged (not a JSON record)`);
    });
    return out;
  }

  /**
   * Drops records with `iter > iteration` (written after the checkpoint a run resumes from), and damaged lines,
   * each reported to `onDamaged`.
   */
  async truncateAfter(iteration: number, onDamaged: (problem: string) => void = () => {}): Promise<void> {
    const kept = (await this.read(onDamaged)).filter((r) => r.iter <= iteration);
    await writeFileAtomic(this.path, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}

/**
 * Counted data warnings: problems a reader repairs or skips on purpose (zero-area boxes skipped as
 * pycocotools users expect, boxes partly outside the image clipped, missing `iscrowd`/`area` filled in).
 * Each kind is counted, with the first few examples kept so a user can find the records; the CLI prints
 * the summary once. Problems that would give a wrong result are errors instead, never warnings.
 */
export interface WarningEntry {
  /** How many records had this problem. */
  count: number;
  /** The first few, each naming the file and record, e.g. `instances.json: annotation id 7 (image id 3)`. */
  examples: string[];
}

/** Examples kept per warning kind. */
export const MAX_WARNING_EXAMPLES = 3;

export class DataWarnings {
  readonly kinds = new Map<string, WarningEntry>();

  /** Counts one occurrence of `kind` (a short sentence, e.g. `zero-area box skipped`) at `where`. */
  add(kind: string, where: string): void {
    let e = this.kinds.get(kind);
    if (e === undefined) {
      e = { count: 0, examples: [] };
      this.kinds.set(kind, e);
    }
    e.count++;
    if (e.examples.length < MAX_WARNING_EXAMPLES) e.examples.push(where);
  }

  /** Total number of warnings of all kinds. */
  get total(): number {
    let n = 0;
    for (const e of this.kinds.values()) n += e.count;
    return n;
  }

  count(kind: string): number {
    return this.kinds.get(kind)?.count ?? 0;
  }

  /** Adds every count of `other` into this one. */
  merge(other: DataWarnings): void {
    for (const [k, e] of other.kinds) {
      const mine = this.kinds.get(k) ?? { count: 0, examples: [] };
      mine.count += e.count;
      for (const x of e.examples) if (mine.examples.length < MAX_WARNING_EXAMPLES) mine.examples.push(x);
      this.kinds.set(k, mine);
    }
  }

  /** One line per kind: `warning: 12 x zero-area box skipped (e.g. a.json: annotation id 7 (image id 3))`. */
  summary(): string[] {
    return [...this.kinds].map(
      ([k, e]) =>
        `warning: ${e.count} x ${k} (e.g. ${e.examples.join('; ')}${e.count > e.examples.length ? '; ...' : ''})`,
    );
  }

  toJSON(): Record<string, WarningEntry> {
    return Object.fromEntries(this.kinds);
  }
}

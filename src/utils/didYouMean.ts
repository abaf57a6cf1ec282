/**
 * Suggestions for misspelt names (config keys, options): the known name closest to what was written, when it
 * is close enough to be a likely typo or a spelling variant (`stacked_convs` for `stackedConvs`).
 *
 * Names are compared case-insensitively with `_` and `-` removed, by Damerau-Levenshtein distance (a swap of
 * two neighbouring letters, `trian` for `train`, is one edit); a known name is
 * suggested when that distance is at most a quarter of the longer name's length (at most 3), so `bin` gets
 * `bins` but a one-letter name gets nothing unless it differs only in case.
 */
import levenshtein from 'damerau-levenshtein';

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/** The known name closest to `name` (see the module comment), or undefined when none is close. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const n = normalise(name);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    if (k === name) continue;
    const d = levenshtein(n, normalise(k)).steps;
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.min(3, Math.floor(Math.max(n.length, normalise(best).length) / 4));
  return bestDistance <= limit ? best : undefined;
}

/** `did you mean \`stackedConvs\`?`, or an empty string when no known name is close. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const c = closestName(name, known);
  return c === undefined ? '' : `did you mean \`${c}\`?`;
}

const tokens = (name: string): string[] => name.split(/[._]/).filter((t) => t !== "");

/** Length of the longest common subsequence of two token lists. */
function commonTokens(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 0; j < b.length; j++)
      row[j + 1] = x === b[j] ? prev[j]! + 1 : Math.max(prev[j + 1]!, row[j]!);
    prev = row;
  }
  return prev[b.length]!;
}

/** Levenshtein distance of two strings. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 0; i < a.length; i++) {
    const row = [i + 1];
    for (let j = 0; j < b.length; j++) {
      row.push(Math.min(prev[j + 1]! + 1, row[j]! + 1, prev[j]! + (a[i] === b[j] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Σ |a − b| over the numbers at the same token positions (layer 11 is nearer to 12 than layer 1). */
function numberDistance(a: readonly string[], b: readonly string[]): number {
  let d = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (Number.isInteger(x) && Number.isInteger(y)) d += Math.abs(x - y);
  }
  return d;
}

/** How many candidates survive the token pass to be ranked by edit distance. */
const SHORTLIST = 24;

/**
 * The `limit` candidates nearest to `query`, best first: a cheap pass keeps the candidates that
 * share the most name tokens (split at `.` and `_`, in order), then the edit distance ranks them
 * (ties: more shared tokens, then nearer block numbers).
 */
export function closestNames(query: string, candidates: readonly string[], limit: number): string[] {
  if (limit <= 0 || candidates.length === 0) return [];
  const q = tokens(query);
  const shortlist = candidates
    .map((c) => ({ c, common: commonTokens(q, tokens(c)) }))
    .sort(
      (x, y) =>
        y.common - x.common || Math.abs(x.c.length - query.length) - Math.abs(y.c.length - query.length),
    )
    .slice(0, Math.max(SHORTLIST, limit));
  return shortlist
    .map((s) => ({ ...s, distance: editDistance(query, s.c), numbers: numberDistance(q, tokens(s.c)) }))
    .sort(
      (x, y) =>
        x.distance - y.distance || y.common - x.common || x.numbers - y.numbers || (x.c < y.c ? -1 : 1),
    )
    .slice(0, limit)
    .map((s) => s.c);
}

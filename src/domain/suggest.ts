/** Edit distance (insertions, deletions, substitutions, and swaps of two neighbours: "regoins") of short strings. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word`, if close enough to be a slip (one edit, two in words of eight letters or more). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length >= 8 ? 2 : 1;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/**
 * The command a user meant by `words` (what oclif joined into `rotat:trade`): the longest run of leading words that
 * is a slip of a command id, with the words after it kept as its arguments (`rotate trade`).
 */
export function suggestCommand(words: readonly string[], ids: readonly string[]): string | undefined {
  for (let count = words.length; count > 0; count--) {
    const match = closest(words.slice(0, count).join(':'), ids);
    if (match) return [match.replaceAll(':', ' '), ...words.slice(count)].join(' ');
  }
  return undefined;
}

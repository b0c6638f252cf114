import type { Span } from './source.js';

/** The one shape of a bad-spec error: where, what is wrong, what was expected. */
export interface SpecError {
  readonly file: string;
  readonly span: Span;
  readonly title: string;
  readonly fixme: string;
}

const WINDOW = 60;

/**
 * Renders an error as Hurl does: the title, `--> file:line:col`, the source line in a numbered gutter and a
 * caret line under the span with what was expected. Plain text; colour is the reporter's business.
 */
export function renderSpecError(e: SpecError, lines: readonly string[]): string {
  const lineNo = String(e.span.line);
  const gutter = ' '.repeat(lineNo.length);
  let source = (lines[e.span.line - 1] ?? '').replace(/\t/g, ' ');
  let col = e.span.col;
  // A long line is shown as a window around the span, so the caret stays readable.
  if (source.length > WINDOW * 2) {
    const from = Math.max(0, col - 1 - WINDOW);
    source = `${from > 0 ? '...' : ''}${source.slice(from, col - 1 + WINDOW)}${col - 1 + WINDOW < source.length ? '...' : ''}`;
    col = col - from + (from > 0 ? 3 : 0);
  }
  const caret = ' '.repeat(Math.max(0, col - 1)) + '^'.repeat(Math.max(1, Math.min(e.span.length, WINDOW)));
  return [
    `error: ${e.title}`,
    `${gutter}--> ${e.file}:${e.span.line}:${e.span.col}`,
    `${gutter} |`,
    `${lineNo} | ${source}`,
    `${gutter} | ${caret} ${e.fixme}`,
    `${gutter} |`,
    '',
  ].join('\n');
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate within a third of the word's length (at least 2 edits allowed). */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function expectedOneOf(word: string, candidates: readonly string[]): string {
  const guess = didYouMean(word, candidates);
  return guess ? `did you mean \`${guess}\`?` : `expected one of: ${candidates.join(', ')}`;
}

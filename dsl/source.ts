import {
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
} from 'yaml';

/** A position in a spec file, 1-based, as editors show it. */
export interface Span {
  readonly line: number;
  readonly col: number;
  /** Length of the span on its first line, for the caret underline. */
  readonly length: number;
}

export type PathSegment = string | number;

/** Limits on what a spec file may ask of the loader. */
export const LOAD_LIMITS = { bytes: 1 << 20, aliases: 100, depth: 64, lineLength: 4096 } as const;

/**
 * Checks the raw text against the limits the YAML parser cannot be trusted with: it aborts the whole
 * process (out of memory in its regex engine) on some ten thousand nested flow brackets. Counts flow
 * nesting outside quotes and comments, and line lengths. Returns the first offence, positioned.
 */
export function preScan(text: string): { line: number; col: number; title: string; fixme: string } | undefined {
  let depth = 0;
  let line = 1;
  let col: number;
  let quote: '"' | "'" | undefined;
  let comment = false;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    col = i - lineStart + 1;
    if (c === '\n') {
      if (i - lineStart > LOAD_LIMITS.lineLength)
        return {
          line,
          col: LOAD_LIMITS.lineLength + 1,
          title: `line ${line} is ${i - lineStart} characters long`,
          fixme: `lines are limited to ${LOAD_LIMITS.lineLength} characters`,
        };
      line++;
      lineStart = i + 1;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === lineStart || /\s/.test(text[i - 1]!))) comment = true;
    else if (c === '[' || c === '{') {
      if (++depth > LOAD_LIMITS.depth)
        return { line, col, title: `nesting deeper than ${LOAD_LIMITS.depth} levels`, fixme: 'flatten the structure' };
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  if (text.length - lineStart > LOAD_LIMITS.lineLength)
    return {
      line,
      col: LOAD_LIMITS.lineLength + 1,
      title: `line ${line} is ${text.length - lineStart} characters long`,
      fixme: `lines are limited to ${LOAD_LIMITS.lineLength} characters`,
    };
  return undefined;
}

/**
 * One loaded YAML spec file: its text, the YAML document with every node's source range, and the plain
 * value the validator sees. Integers load as bigint first (YAML's default loses precision above 2^53), then
 * safe ones become numbers and the others hex strings, which the address syntax accepts.
 */
export class SourceFile {
  readonly lines: readonly string[];
  private readonly lineCounter = new LineCounter();
  readonly doc: Document;

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    this.lines = text.split(/\r?\n/);
    this.doc = parseDocument(text, {
      lineCounter: this.lineCounter,
      intAsBigInt: true,
      uniqueKeys: true,
      prettyErrors: false,
      strict: true,
    });
  }

  spanAt(offset: number, end?: number): Span {
    const { line, col } = this.lineCounter.linePos(offset);
    const lineText = this.lines[line - 1] ?? '';
    const length = end === undefined ? 1 : Math.max(1, Math.min(end - offset, lineText.length - (col - 1)));
    return { line, col, length };
  }

  /** The node at `path`: the value, or with `key` the mapping key naming it (for unknown-key errors). */
  spanOf(path: readonly PathSegment[], key = false): Span {
    let node: unknown = this.doc.contents;
    let keyNode: unknown;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        keyNode = undefined;
        node = node.items[seg];
      } else {
        break;
      }
    }
    const target = key && keyNode ? keyNode : node;
    if (isNode(target) && (target as Node).range) {
      const [start, valueEnd] = (target as Node).range!;
      return this.spanAt(start, valueEnd);
    }
    if (isPair(target)) return this.spanAt(0);
    return { line: 1, col: 1, length: 1 };
  }
}

/** Turns the loaded document into the validator's plain value (see SourceFile). */
export function plainValue(doc: Document): unknown {
  const js: unknown = doc.toJS({ maxAliasCount: LOAD_LIMITS.aliases });
  return normalise(js, 0);
}

function normalise(v: unknown, depth: number): unknown {
  if (depth > LOAD_LIMITS.depth) throw new RangeError(`nesting deeper than ${LOAD_LIMITS.depth} levels`);
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
  }
  if (Array.isArray(v)) return v.map((x) => normalise(x, depth + 1));
  if (v && typeof v === 'object') {
    if (v instanceof Map) throw new TypeError('mapping keys must be plain strings');
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x, depth + 1)]));
  }
  return v;
}

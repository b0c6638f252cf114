/**
 * What a patch adds, taken mechanically from its unified diff: the `#define`s its header hunks add, and the
 * complete function definitions its C hunks add. A definition counts when the whole of it, from the first
 * line of its head to its closing brace, is added lines; a hunk that only edits a function (a changed
 * signature, a call added to an existing body) adds no function and is left to the TypeScript port.
 */

export interface ExtractedFunction {
  readonly name: string;
  /** Source file in the patch, e.g. drivers/iommu/amd/viommu.c. */
  readonly file: string;
  /** The definition as the patch adds it (leading comment included), without the diff's `+`. */
  readonly text: string;
}

export interface Extracted {
  readonly defines: readonly string[];
  readonly functions: readonly ExtractedFunction[];
}

/** Comments and string/char literals replaced by spaces (same length), so scanning never sees their text. */
export function maskC(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (two === '/*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (two === '//') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += c + ' '.repeat(Math.max(0, j - i - 1)) + (j < text.length ? c : '');
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out.slice(0, text.length);
}

/** Index of the bracket that closes the one at `open` in masked text, or -1. */
export function matching(masked: string, open: number): number {
  const o = masked[open]!;
  const close = o === '{' ? '}' : o === '(' ? ')' : ']';
  let depth = 0;
  for (let i = open; i < masked.length; i++) {
    if (masked[i] === o) depth++;
    else if (masked[i] === close && --depth === 0) return i;
  }
  return -1;
}

/** The complete function definitions in a run of added lines (file-scope text). */
export function functionsIn(run: string, file: string): ExtractedFunction[] {
  const masked = maskC(run);
  const found: ExtractedFunction[] = [];
  let start = 0;
  let i = 0;
  while (i < masked.length) {
    const c = masked[i]!;
    if (c === ';') {
      start = i + 1;
    } else if (c === '}') {
      // A body the run began inside of: what came before is not a whole item.
      start = i + 1;
    } else if (c === '{') {
      const end = matching(masked, i);
      if (end < 0) break; // the definition goes on in context lines: not wholly added
      const head = masked.slice(start, i);
      const paren = head.indexOf('(');
      const name = paren < 0 ? undefined : /(\w+)\s*$/.exec(head.slice(0, paren))?.[1];
      if (name !== undefined && !head.includes('=') && /\)\s*$/.test(head)) {
        found.push({ name, file, text: run.slice(start, end + 1).replace(/^\s*\n/, '') });
      }
      i = end + 1;
      start = i;
      continue;
    }
    i++;
  }
  return found;
}

/**
 * Parses a unified diff. Only `+` lines are read; blank lines inside a run of added lines keep the run
 * going (a patch copied from a mail archive loses the space of empty context lines).
 */
export function extractPatch(patch: string): Extracted {
  const defines: string[] = [];
  const functions: ExtractedFunction[] = [];
  let file: string | undefined;
  let run: string[] = [];
  const flush = (): void => {
    if (file !== undefined && run.length) {
      const text = run.join('\n');
      if (file.endsWith('.c')) functions.push(...functionsIn(text, file));
      else if (file.endsWith('.h')) defines.push(...definesIn(text));
    }
    run = [];
  };
  for (const line of patch.split(/\r?\n/)) {
    if (line.startsWith('+++ ')) {
      flush();
      file = line.slice(4).replace(/^b\//, '').trim();
    } else if (line.startsWith('diff --git ') || line.startsWith('--- ') || line.startsWith('@@')) {
      flush();
    } else if (line.startsWith('+')) {
      run.push(line.slice(1));
    } else if (line.trim() === '' && run.length) {
      run.push('');
    } else {
      flush();
    }
  }
  flush();
  return { defines, functions };
}

/** The `#define`s (with continuation lines) in added header text. */
function definesIn(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*#\s*define\s+\w+/.test(lines[i]!)) continue;
    let def = lines[i]!;
    while (def.endsWith('\\') && i + 1 < lines.length) def += '\n' + lines[++i]!;
    out.push(def);
  }
  return out;
}

/** Function names of a C file (for `build-driver x.c`): every file-scope definition. */
export function functionsOfSource(source: string, file: string): ExtractedFunction[] {
  return functionsIn(source, file);
}

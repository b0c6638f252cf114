import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Spec } from './spec.generated.js';
import type { SpecError } from './errors.js';
import { LOAD_LIMITS, plainValue, preScan, SourceFile, type PathSegment } from './source.js';
import { validateSpec, type Locate } from './validate.js';

/** One runnable spec: a file, or one case of a file with cases. */
export interface LoadedSpec {
  readonly id: string;
  readonly file: string;
  readonly spec: Spec;
  /** Finds where a path of `spec` was written (the spec file, its case, or its fragment). */
  readonly spanOf: Locate;
  readonly lines: (file: string) => readonly string[];
}

type Loaded =
  | { readonly ok: true; readonly specs: LoadedSpec[] }
  | { readonly ok: false; readonly errors: SpecError[]; readonly lines: (file: string) => readonly string[] };

export type LoadResult = Loaded & {
  /** The files read: the spec, then its `extends` fragment when it got that far (for watching them). */
  readonly sources: readonly string[];
};

/** The run markers a spec or a case may carry. */
const MARKERS = ['skip', 'todo', 'only'] as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge for mappings; lists and scalars of `over` replace those of `base`. */
export function deepMerge(base: Json, over: Json): Json {
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k]!, v) : v;
  return out;
}

function has(value: unknown, path: readonly PathSegment[]): boolean {
  let v = value;
  for (const s of path) {
    if (v === null || typeof v !== 'object' || !(s in v)) return false;
    v = (v as Record<string | number, unknown>)[s];
  }
  return true;
}

interface Parsed {
  src: SourceFile;
  value: unknown;
}

/** Reads and parses one YAML file into its value, or positioned errors. Never throws for bad input. */
function parseFile(
  path: string,
  display: string,
): { ok: true; parsed: Parsed } | { ok: false; errors: SpecError[]; lines?: readonly string[] } {
  const at1 = (title: string, fixme: string): SpecError => ({
    file: display,
    span: { line: 1, col: 1, length: 1 },
    title,
    fixme,
  });
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return { ok: false, errors: [at1('cannot read the file', 'check the path')] };
  }
  if (size > LOAD_LIMITS.bytes)
    return {
      ok: false,
      errors: [at1(`file is ${size} bytes`, `spec files are limited to ${LOAD_LIMITS.bytes} bytes`)],
    };
  const text = readFileSync(path, 'utf8');
  if (text.includes('\u0000') || text.includes('\ufffd'))
    return { ok: false, errors: [at1('not a text file', 'a spec is UTF-8 YAML text')] };
  const offence = preScan(text);
  if (offence)
    return {
      ok: false,
      lines: text.split(/\r?\n/),
      errors: [
        {
          file: display,
          span: { line: offence.line, col: offence.col, length: 1 },
          title: offence.title,
          fixme: offence.fixme,
        },
      ],
    };
  let src: SourceFile;
  try {
    src = new SourceFile(display, text);
  } catch (err) {
    return { ok: false, errors: [at1(`cannot parse: ${(err as Error).message}`, 'expected well-formed YAML')] };
  }
  if (src.doc.errors.length > 0) {
    return {
      ok: false,
      lines: src.lines,
      errors: src.doc.errors.map((e) => ({
        file: display,
        span: src.spanAt(e.pos[0], e.pos[1]),
        title: `YAML syntax: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}`,
        fixme: yamlHint(e.code),
      })),
    };
  }
  try {
    return { ok: true, parsed: { src, value: plainValue(src.doc) } };
  } catch (err) {
    return {
      ok: false,
      lines: src.lines,
      errors: [
        at1(
          `cannot load: ${(err as Error).message}`,
          `at most ${LOAD_LIMITS.aliases} alias expansions and ${LOAD_LIMITS.depth} levels of nesting`,
        ),
      ],
    };
  }
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a mapping';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and punctuation here';
    default:
      return 'expected well-formed YAML';
  }
}

/**
 * A path the spec refers to must stay inside the suite root: no absolute path, no `../` out of it, and no
 * symlink that leads out of it. The lexical check comes first, so a refusal never depends on what exists.
 */
export function insideRoot(
  root: string,
  from: string,
  target: string,
): { ok: true; path: string } | { ok: false; why: string } {
  if (isAbsolute(target))
    return { ok: false, why: 'absolute paths are not allowed; write a path relative to the spec' };
  const joined = resolve(dirname(from), target);
  const outside = (p: string, r: string): boolean => {
    const rel = relative(r, p);
    return rel.startsWith('..') || isAbsolute(rel);
  };
  if (outside(joined, resolve(root))) return { ok: false, why: `${target} is outside the suite root ${root}` };
  let real: string;
  try {
    real = realpathSync(joined);
  } catch {
    return { ok: false, why: `no such file: ${target}` };
  }
  if (outside(real, realpathSync(root)))
    return { ok: false, why: `${target} leads outside the suite root ${root} through a symbolic link` };
  return { ok: true, path: joined };
}

/** Loads a spec file: YAML, fragment, schema, cases. `root` bounds what `extends` may reach. */
export function loadSpecFile(path: string, root: string): LoadResult {
  const sources = [resolve(path)];
  const r = loadSpecFileFrom(path, root, sources);
  return { ...r, sources };
}

function loadSpecFileFrom(path: string, root: string, sources: string[]): Loaded {
  const display = relative(process.cwd(), path) || path;
  const fileLines = new Map<string, readonly string[]>();
  const lines = (file: string): readonly string[] => fileLines.get(file) ?? [];
  const first = parseFile(path, display);
  if (!first.ok) {
    if (first.lines) fileLines.set(display, first.lines);
    return { ok: false, errors: first.errors, lines };
  }
  const main = first.parsed;
  fileLines.set(display, main.src.lines);
  if (!isObject(main.value))
    return {
      ok: false,
      errors: [
        {
          file: display,
          span: main.src.spanOf([]),
          title: 'a spec is a mapping',
          fixme: 'start with `name:`, `hardware:` and `steps:`',
        },
      ],
      lines,
    };

  let merged: Json = main.value;
  let fragment: Parsed | undefined;
  let fragmentDisplay = '';
  const ext = main.value['extends'];
  if (typeof ext === 'string') {
    const inside = insideRoot(root, path, ext);
    // A fragment not written yet is still a source: the spec changes when it appears (run --watch).
    const meant = resolve(dirname(path), ext);
    if (!inside.ok && !isAbsolute(ext) && !relative(resolve(root), meant).startsWith('..')) sources.push(meant);
    if (!inside.ok)
      return {
        ok: false,
        errors: [
          { file: display, span: main.src.spanOf(['extends']), title: 'cannot extend this file', fixme: inside.why },
        ],
        lines,
      };
    fragmentDisplay = relative(process.cwd(), inside.path) || inside.path;
    sources.push(resolve(inside.path));
    const f = parseFile(inside.path, fragmentDisplay);
    if (!f.ok) {
      if (f.lines) fileLines.set(fragmentDisplay, f.lines);
      return { ok: false, errors: f.errors, lines };
    }
    fragment = f.parsed;
    fileLines.set(fragmentDisplay, fragment.src.lines);
    if (!isObject(fragment.value))
      return {
        ok: false,
        errors: [
          {
            file: fragmentDisplay,
            span: fragment.src.spanOf([]),
            title: 'a fragment is a mapping',
            fixme: 'write spec keys such as `hardware:`',
          },
        ],
        lines,
      };
    merged = deepMerge(fragment.value, merged);
  }
  // The merged spec stands on its own: validated without `extends`, it must have everything (the schema
  // lets a spec that extends a fragment leave out what the fragment gives, so editors accept it).
  const { extends: _extends, ...standalone } = merged as Record<string, Json>;
  merged = standalone;

  // Where each path of a (possibly merged) spec was written: the case, the spec, or the fragment.
  const locate =
    (casePath: PathSegment[] | undefined, caseValue: unknown): Locate =>
    (p, key = false) => {
      if (casePath && has(caseValue, p)) return { file: display, span: main.src.spanOf([...casePath, ...p], key) };
      if (has(main.value, p) || !fragment) return { file: display, span: main.src.spanOf(p, key) };
      return has(fragment.value, p)
        ? { file: fragmentDisplay, span: fragment.src.spanOf(p, key) }
        : { file: display, span: main.src.spanOf(p, key) };
    };

  const errors = validateSpec(merged, locate(undefined, undefined));
  if (errors.length) return { ok: false, errors, lines };
  const spec = merged as unknown as Spec;
  if (!spec.cases)
    return { ok: true, specs: [{ id: display, file: display, spec, spanOf: locate(undefined, undefined), lines }] };

  const specs: LoadedSpec[] = [];
  const all: SpecError[] = [];
  spec.cases.forEach((c, i) => {
    const base = { ...(merged as Record<string, Json>) };
    delete base['cases'];
    // A case's own skip/todo/only replaces the spec's, so `only: true` on one case of a skipped spec runs it.
    if (c.skip !== undefined || c.todo !== undefined || c.only !== undefined) for (const k of MARKERS) delete base[k];
    const caseValue = {
      skip: c.skip,
      todo: c.todo,
      only: c.only,
      hardware: c.hardware,
      faults: c.faults,
      steps: c.steps,
      after_oops: c.after_oops,
      expect: c.expect,
      golden: c.golden,
      sweep: c.sweep,
    } as Record<string, Json | undefined>;
    let value: Json = base;
    if (c.hardware) value = { ...value, hardware: deepMerge(base['hardware']!, c.hardware) };
    if (c.faults) value = { ...value, faults: c.faults as unknown as Json };
    if (c.steps) value = { ...value, steps: c.steps as unknown as Json };
    if (c.after_oops) value = { ...value, after_oops: c.after_oops };
    if (c.expect)
      value = {
        ...value,
        expect: { ...((base['expect'] as Record<string, Json>) ?? {}), ...(c.expect as Record<string, Json>) },
      };
    if (c.golden !== undefined) value = { ...value, golden: c.golden };
    for (const k of MARKERS) if (c[k] !== undefined) value = { ...value, [k]: c[k] };
    if (c.sweep) value = { ...value, sweep: c.sweep as unknown as Json };
    value = { ...value, name: `${spec.name} [${c.name}]` };
    const spanOf = locate(['cases', i], caseValue);
    const errs = validateSpec(value, spanOf);
    if (errs.length) all.push(...errs);
    else specs.push({ id: `${display}#${c.name}`, file: display, spec: value as unknown as Spec, spanOf, lines });
  });
  return all.length ? { ok: false, errors: all, lines } : { ok: true, specs };
}

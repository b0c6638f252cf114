import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packageFile } from './package-file.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { expectedOneOf, type SpecError } from './errors.js';
import type { PathSegment, Span } from './source.js';

/** Finds where a path of the validated value was written; `key` asks for the mapping key naming it. */
export type Locate = (path: readonly PathSegment[], key?: boolean) => { file: string; span: Span };

const require = createRequire(import.meta.url);
type SchemaNode = {
  description?: string;
  anyOf?: SchemaNode[];
  oneOf?: { required?: string[] }[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, unknown>;
};

let compiled: ValidateFunction | undefined;

/**
 * The spec validator: the one precompiled at build time (schemas/gen-validator.mjs) when present, for a
 * fast start, else the schema compiled here with the same options. Verbose, so each error carries the
 * schema it came from.
 */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const built = packageFile('dist/dsl/spec-validator.generated.cjs');
  if (existsSync(built)) {
    compiled = require(built) as ValidateFunction;
  } else {
    const Ajv2020 = (
      require('ajv/dist/2020') as { default: new (o: object) => { compile(s: object): ValidateFunction } }
    ).default;
    const schema = JSON.parse(readFileSync(packageFile('schemas/spec.schema.json'), 'utf8')) as Record<string, unknown>;
    compiled = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, verbose: true }).compile(schema);
  }
  return compiled;
}

function pathOf(instancePath: string): PathSegment[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string "${v.length > 40 ? v.slice(0, 37) + '...' : v}"`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v;
}

function lowerFirst(text: string): string {
  return (text[0]?.toLowerCase() ?? '') + text.slice(1).replace(/\.$/, '');
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let v = data;
  for (const s of path) v = (v as Record<string | number, unknown> | undefined)?.[s];
  return v;
}

/** One Ajv error as a positioned spec error. */
function toSpecError(locate: Locate, data: unknown, e: ErrorObject): SpecError {
  const path = pathOf(e.instancePath);
  const here = (title: string, fixme: string, key = false): SpecError => ({ ...locate(path, key), title, fixme });
  const parent = e.parentSchema as SchemaNode | undefined;
  const actual = valueAt(data, path);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(parent?.properties ?? {});
      return {
        ...locate([...path, key], true),
        title: `unknown key \`${key}\``,
        fixme: known.length ? expectedOneOf(key, known) : 'no keys are allowed here',
      };
    }
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return here(`missing key \`${key}\``, `add \`${key}:\` here`);
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      return here(
        `unexpected value: ${describeValue(actual)}`,
        typeof actual === 'string' ? expectedOneOf(actual, allowed) : `expected one of: ${allowed.join(', ')}`,
      );
    }
    case 'anyOf':
      return here(
        `unexpected value: ${describeValue(actual)}`,
        `expected ${lowerFirst(parent?.description ?? 'another form').replace(/^expected /, '')}`,
      );
    case 'oneOf': {
      const keys = (parent?.oneOf ?? []).flatMap((b) => b.required ?? []);
      return here(
        'exactly one of these keys must be given',
        keys.length ? `give one of: ${keys.join(', ')}` : 'expected exactly one alternative',
      );
    }
    case 'type': {
      const type = (e.params as { type: string }).type;
      return here(
        `expected ${type}, got ${describeValue(actual)}`,
        `write ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} here`,
      );
    }
    case 'const':
      return here(
        `unexpected value: ${describeValue(actual)}`,
        `expected ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`,
      );
    default:
      return here(
        `invalid value: ${describeValue(actual)}`,
        `${e.message ?? 'invalid'}${parent?.description ? ` (${lowerFirst(parent.description)})` : ''}`,
      );
  }
}

/**
 * Validates against schemas/spec.schema.json. Errors inside an anyOf/oneOf branch are folded into the
 * alternative itself, so the user reads one message about what the value may be, not one per branch.
 */
export function validateSpec(data: unknown, locate: Locate): SpecError[] {
  const validate = validator();
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  // Ajv's schemaPath is relative to the $ref'd schema, so a branch error is one at or below the
  // alternative's instance path whose schema path continues the alternative's.
  const alternatives = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const inBranch = (e: ErrorObject): boolean =>
    alternatives.some(
      (a) =>
        a !== e &&
        (e.instancePath === a.instancePath || e.instancePath.startsWith(a.instancePath + '/')) &&
        e.schemaPath.startsWith(a.schemaPath + '/'),
    );
  // An `if` that matched is reported through its `then` branch's own errors; the `if` adds nothing.
  const kept = errors.filter((e) => e.keyword !== 'if' && !inBranch(e));
  const seen = new Set<string>();
  const out: SpecError[] = [];
  for (const e of kept) {
    const se = toSpecError(locate, data, e);
    const key = `${se.file}:${se.span.line}:${se.span.col}:${se.title}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(se);
    }
  }
  return out.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.span.line - b.span.line || a.span.col - b.span.col,
  );
}

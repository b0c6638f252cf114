import type { AllocRef, ValueExpr } from './plan.js';

/**
 * Evaluation of the value expressions a plan carries (the one expression language of the spec language,
 * dsl/value.ts): u64 arithmetic as C does it, loop variables, and symbols named by the machine. The plan layer
 * knows no machine, so whoever evaluates supplies what the symbols name: the executor (an argument, per
 * repetition) or the checker (an expectation, after the run).
 */

/** What the symbols of an expression name on one machine, or why one names nothing. */
export interface Symbols {
  alloc(ref: AllocRef): bigint | undefined;
  table(domain: number, level: number, iova: bigint): bigint | string;
  domain(id: number): bigint | undefined;
  va(pa: bigint): bigint | undefined;
}

export type Evaluated = { readonly value: bigint } | { readonly unresolved: string };

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

export type BinaryOp = '+' | '-' | '*' | '<<' | '>>' | '&' | '|';

function apply(op: BinaryOp, a: bigint, b: bigint): bigint {
  switch (op) {
    case '+':
      return U64(a + b);
    case '-':
      return U64(a - b);
    case '*':
      return U64(a * b);
    case '<<':
      return U64(a << (b & 63n));
    case '>>':
      return a >> (b & 63n);
    case '&':
      return a & b;
    case '|':
      return a | b;
  }
}

/** Evaluates an expression; `symbols` absent, any symbol is unresolved (a pure loop expression never has one). */
export function evaluate(e: ValueExpr, vars: Readonly<Record<string, bigint>>, symbols?: Symbols): Evaluated {
  if (typeof e === 'bigint') return { value: e };
  const none = (what: string): Evaluated => ({ unresolved: what });
  if ('alloc' in e) {
    const pa = symbols?.alloc(e);
    return pa === undefined ? none(`no allocation #${e.nth} at \`${e.alloc}\``) : { value: pa + e.offset };
  }
  switch (e.kind) {
    case 'var': {
      const v = vars[e.name];
      return v === undefined ? none(`\`\${${e.name}}\` is not bound`) : { value: v };
    }
    case 'table': {
      const r = symbols ? symbols.table(e.domain, e.level, e.iova) : 'no machine';
      return typeof r === 'bigint' ? { value: r } : none(r);
    }
    case 'domain': {
      const va = symbols?.domain(e.domain);
      return va === undefined ? none(`no domain ${e.domain}`) : { value: va };
    }
    case 'va': {
      const of = evaluate(e.of, vars, symbols);
      if (!('value' in of)) return of;
      const va = symbols?.va(of.value);
      return va === undefined ? none(`0x${of.value.toString(16)} is beyond the direct map`) : { value: va };
    }
    case 'op': {
      const a = evaluate(e.a, vars, symbols);
      if (!('value' in a)) return a;
      const b = evaluate(e.b, vars, symbols);
      return 'value' in b ? { value: apply(e.op, a.value, b.value) } : b;
    }
  }
}

/** The loop variables an expression reads. */
export function variablesOf(e: ValueExpr): string[] {
  if (typeof e === 'bigint' || 'alloc' in e) return [];
  switch (e.kind) {
    case 'var':
      return [e.name];
    case 'va':
      return variablesOf(e.of);
    case 'op':
      return [...new Set([...variablesOf(e.a), ...variablesOf(e.b)])];
    case 'table':
    case 'domain':
      return [];
  }
}

/** Replaces the variables given by their values and folds what became constant. */
export function bindVariables(e: ValueExpr, vars: Readonly<Record<string, bigint>>): ValueExpr {
  if (typeof e === 'bigint' || 'alloc' in e) return e;
  switch (e.kind) {
    case 'var':
      return vars[e.name] ?? e;
    case 'va':
      return { kind: 'va', of: bindVariables(e.of, vars) };
    case 'op': {
      const a = bindVariables(e.a, vars);
      const b = bindVariables(e.b, vars);
      return typeof a === 'bigint' && typeof b === 'bigint' ? apply(e.op, a, b) : { kind: 'op', op: e.op, a, b };
    }
    case 'table':
    case 'domain':
      return e;
  }
}

/** An argument or expected return still depending on a repetition's index: evaluated per repetition. */
export interface LoopValue {
  readonly loop: ValueExpr;
  /** The expression as the spec wrote it, for messages. */
  readonly text: string;
}

export function isLoopValue(v: unknown): v is LoopValue {
  return typeof v === 'object' && v !== null && 'loop' in v;
}

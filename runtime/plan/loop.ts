/**
 * An argument that depends on a repetition's index (`repeat: {count, var}`), as plain data: the plan keeps
 * the expression and the executor evaluates it for each repetition, so a million calls are one step of the
 * plan, not a million. Variables of `for:` loops never get here: the compiler substitutes them.
 */
export type LoopExpr =
  | { readonly num: bigint }
  | { readonly var: string }
  | { readonly op: '+' | '-' | '*' | '<<' | '>>' | '&' | '|'; readonly a: LoopExpr; readonly b: LoopExpr };

/** An argument or expected return that the executor computes per repetition. */
export interface LoopValue {
  readonly loop: LoopExpr;
  /** The expression as the spec wrote it, for messages. */
  readonly text: string;
}

export function isLoopValue(v: unknown): v is LoopValue {
  return typeof v === 'object' && v !== null && 'loop' in v;
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** Evaluates in u64 arithmetic, as C does: wrapping, shifts by the low 6 bits. */
export function evalLoopExpr(e: LoopExpr, vars: Readonly<Record<string, bigint>>): bigint {
  if ('num' in e) return e.num;
  if ('var' in e) {
    const v = vars[e.var];
    if (v === undefined) throw new Error(`loop variable ${e.var} unbound`);
    return v;
  }
  const a = evalLoopExpr(e.a, vars);
  const b = evalLoopExpr(e.b, vars);
  switch (e.op) {
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

/** The variables an expression reads. */
export function loopExprVars(e: LoopExpr): string[] {
  if ('num' in e) return [];
  if ('var' in e) return [e.var];
  return [...new Set([...loopExprVars(e.a), ...loopExprVars(e.b)])];
}

/** Replaces known variables by their values and folds what became constant. */
export function bindLoopExpr(e: LoopExpr, vars: Readonly<Record<string, bigint>>): LoopExpr {
  if ('num' in e) return e;
  if ('var' in e) return vars[e.var] === undefined ? e : { num: vars[e.var]! };
  const a = bindLoopExpr(e.a, vars);
  const b = bindLoopExpr(e.b, vars);
  if ('num' in a && 'num' in b) return { num: evalLoopExpr({ op: e.op, a, b }, {}) };
  return { op: e.op, a, b };
}

import type { LoopExpr } from '../runtime/plan/loop.js';
import { ExpressionError } from './value.js';
import { parseAddress } from './units.js';

/**
 * The arithmetic of loop arguments: `"${i} * 4K + 0x100000"`, `"1 << ${lg2}"`, `"${len}"`.
 *
 *   expr := and ('|' and)*      and := shift ('&' shift)*      shift := sum (('<<' | '>>') sum)*
 *   sum  := prod (('+' | '-') prod)*      prod := atom ('*' atom)*
 *   atom := number | '${' name '}' | '(' expr ')'
 *
 * C's precedence; numbers are spec addresses (0x hex, decimal with K/M/G/T). Values are u64, as in C.
 */

/** A string is a loop expression when it names a variable. */
export function isLoopString(v: unknown): v is string {
  return typeof v === 'string' && v.includes('${');
}

export function parseLoopExpr(text: string): LoopExpr {
  let pos = 0;
  const ws = (): void => {
    while (pos < text.length && text[pos] === ' ') pos++;
  };
  const eat = (tok: string): boolean => {
    ws();
    if (text.startsWith(tok, pos)) {
      pos += tok.length;
      return true;
    }
    return false;
  };
  const level = (ops: readonly ('+' | '-' | '*' | '<<' | '>>' | '&' | '|')[], next: () => LoopExpr) => (): LoopExpr => {
    let a = next();
    for (;;) {
      ws();
      const op = ops.find((o) => text.startsWith(o, pos));
      if (!op) return a;
      pos += op.length;
      a = { op, a, b: next() };
    }
  };
  const atom = (): LoopExpr => {
    ws();
    if (eat('${')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(pos));
      if (!m) throw new ExpressionError('expected a variable name after `${`', pos);
      pos += m[0].length;
      if (!eat('}')) throw new ExpressionError('expected `}`', pos);
      return { var: m[0] };
    }
    if (eat('(')) {
      const e = expr();
      if (!eat(')')) throw new ExpressionError('expected `)`', pos);
      return e;
    }
    const m = /^[0-9][0-9a-fA-FxX_]*(?:[KMGT](?:iB)?)?/.exec(text.slice(pos));
    const num = m ? parseAddress(m[0]) : undefined;
    if (!m || num === undefined)
      throw new ExpressionError('expected a number, `${variable}` or `(`', pos, 'e.g. "${i} * 4K + 0x100000"');
    pos += m[0].length;
    return { num };
  };
  const prod = level(['*'], atom);
  const sum = level(['+', '-'], prod);
  const shift = level(['<<', '>>'], sum);
  const and = level(['&'], shift);
  const expr = level(['|'], and);
  const e = expr();
  ws();
  if (pos < text.length) throw new ExpressionError(`unexpected \`${text[pos]}\``, pos);
  return e;
}

import type { SourceRef, ValueExpr } from '../runtime/plan/plan.js';
import type { BinaryOp } from '../runtime/plan/value.js';
import { parseAddress } from './units.js';

/**
 * The one expression language of specs, wherever a 64-bit value is stated: `0x6000000000000401 |
 * table(2, L1, 0x0)`, `0x7000000000000001 | alloc(**\/alloc_private_subregion[0]/**)`, `1G + ${i} * 4K`:
 *
 *   expr  := and ('|' and)*       and := shift ('&' shift)*       shift := sum (('<<' | '>>') sum)*
 *   sum   := prod (('+' | '-') prod)*       prod := atom ('*' atom)*
 *   atom  := number | '${' name '}' | '(' expr ')'
 *          | table(domain, Lk, iova) | alloc(glob[, nth]) | domain(id) | va(expr)
 *
 * C's precedence and u64 arithmetic. Numbers are spec addresses (0x hex, decimal with K/M/G/T). `${name}` is
 * a loop variable; the glob of `alloc()` runs to the next top-level `,` or `)` (site names hold neither).
 */

/** A string is read as an expression, not a plain address, when it has an operator, a call or a variable. */
export function isExpressionString(text: string): boolean {
  return /[|&+*<>(-]|\$\{/.test(text);
}

/** A step argument or return that reads a loop variable (`"${i} * 4K"`): bound per loop value or repetition. */
export function hasVariables(v: unknown): v is string {
  return typeof v === 'string' && v.includes('${');
}

export class ExpressionError extends Error {
  constructor(
    message: string,
    /** 0-based offset into the expression text. */
    readonly offset: number,
    /** What to write instead, when the parser knows better than the general example. */
    readonly fixme?: string,
  ) {
    super(message);
  }
}

/** What the parser needs from its caller: where the expression was written, and a check of site globs. */
export interface ExpressionContext {
  readonly at: SourceRef;
  /** What is wrong when `glob` names no failure point or function, and what to write; else undefined. */
  unknownSite(glob: string): { readonly title: string; readonly fixme: string } | undefined;
}

/** Binary operators from the loosest to the tightest, as in C. */
const LEVELS: readonly (readonly BinaryOp[])[] = [['|'], ['&'], ['<<', '>>'], ['+', '-'], ['*']];

/** Parses an expression; throws ExpressionError with the offset of the first thing it cannot read. */
export function parseExpression(text: string, cx: ExpressionContext): ValueExpr {
  let pos = 0;
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const fail = (what: string, fixme?: string): never => {
    throw new ExpressionError(`expected ${what}`, pos, fixme);
  };
  const eat = (tok: string): boolean => {
    skip();
    if (!text.startsWith(tok, pos)) return false;
    pos += tok.length;
    return true;
  };
  const expect = (tok: string): void => {
    if (!eat(tok)) fail(`\`${tok}\``);
  };
  const word = (re: RegExp): string | undefined => {
    skip();
    const m = re.exec(text.slice(pos));
    if (!m) return undefined;
    pos += m[0].length;
    return m[0];
  };
  const number = (what: string): bigint => {
    const start = pos;
    const w = word(/^[0-9][0-9a-zA-Z_]*/);
    const v = w === undefined ? undefined : parseAddress(w);
    if (v === undefined) {
      pos = start;
      skip();
      return fail(what);
    }
    return v;
  };
  const small = (what: string, max: number): number => {
    const v = number(what);
    if (v > BigInt(max)) fail(`${what} (at most ${max})`);
    return Number(v);
  };
  const level = (i: number): ValueExpr => {
    if (i === LEVELS.length) return atom();
    let a = level(i + 1);
    for (;;) {
      skip();
      const op = LEVELS[i]!.find((o) => text.startsWith(o, pos));
      if (!op) return a;
      pos += op.length;
      a = { kind: 'op', op, a, b: level(i + 1) };
    }
  };
  const expr = (): ValueExpr => level(0);
  const atom = (): ValueExpr => {
    if (eat('(')) {
      const inner = expr();
      expect(')');
      return inner;
    }
    if (eat('${')) {
      const name = word(/^[A-Za-z_][A-Za-z0-9_]*/);
      if (name === undefined) return fail('a variable name after `${`');
      expect('}');
      return { kind: 'var', name };
    }
    const start = pos;
    const name = word(/^[a-z_]+(?=\s*\()/);
    if (name === undefined) return number('a number, `${variable}`, `(`, or one of table(), alloc(), domain(), va()');
    expect('(');
    let v: ValueExpr;
    switch (name) {
      case 'table': {
        const domain = small('a domain ID', 0xffff);
        expect(',');
        skip();
        if (text[pos] === 'L') pos++;
        const level = small('a level such as L1', 5);
        expect(',');
        v = { kind: 'table', domain, level, iova: number('an IOVA'), at: cx.at };
        break;
      }
      case 'alloc': {
        skip();
        const globStart = pos;
        while (pos < text.length && text[pos] !== ',' && text[pos] !== ')') pos++;
        const glob = text.slice(globStart, pos).trim();
        if (!glob) fail('a site glob');
        const unknown = cx.unknownSite(glob);
        if (unknown) throw new ExpressionError(unknown.title, globStart, unknown.fixme);
        const nth = eat(',') ? small('an ordinal (1-based)', 1 << 30) : 1;
        if (nth < 1) throw new ExpressionError('the ordinal is 1-based', pos - 1);
        v = { alloc: glob, nth, offset: 0n, at: cx.at };
        break;
      }
      case 'domain':
        v = { kind: 'domain', domain: small('a domain ID', 0xffff), at: cx.at };
        break;
      case 'va':
        v = { kind: 'va', of: expr() };
        break;
      default:
        pos = start;
        return fail('one of table(), alloc(), domain(), va()');
    }
    expect(')');
    return v;
  };
  const v = expr();
  skip();
  if (pos < text.length) fail('an operator or the end');
  return v;
}

import { describe, expect, it } from 'vitest';
import { ExpressionError, parseExpression } from '../../dsl/value.js';
import type { ValueExpr } from '../../runtime/plan/plan.js';
import { bindVariables, evaluate, variablesOf } from '../../runtime/plan/value.js';

const at = { file: 'x.yaml', line: 1, col: 1, text: '' };
const parse = (text: string): ValueExpr => parseExpression(text, { at, unknownSite: () => undefined });
const ev = (text: string, vars: Record<string, bigint> = {}): bigint => {
  const r = evaluate(parse(text), vars);
  if (!('value' in r)) throw new Error(r.unresolved);
  return r.value;
};

describe('arithmetic and loop variables in value expressions', () => {
  it("follow C's precedence: * over + -, then << >>, then &, then |", () => {
    expect(ev('1 + 2 * 3')).toBe(7n);
    expect(ev('1 << 2 + 1')).toBe(8n);
    expect(ev('0xf0 | 0x0f & 0x3')).toBe(0xf3n);
    expect(ev('(1 + 2) * 3')).toBe(9n);
  });

  it('read numbers as spec addresses and variables as bound', () => {
    expect(ev('1G + ${i} * 4K', { i: 3n })).toBe(0x4000_3000n);
    expect(ev('1 << ${lg2}', { lg2: 21n })).toBe(0x20_0000n);
  });

  it('wrap in 64 bits as u64 does', () => {
    expect(ev('0 - 1')).toBe(0xffff_ffff_ffff_ffffn);
    expect(ev('0x8000000000000000 * 2')).toBe(0n);
  });

  it('bind the variables known at compile time and leave the others', () => {
    const e = bindVariables(parse('${len} * ${i} + 0x10'), { len: 0x1000n });
    expect(variablesOf(e)).toEqual(['i']);
    expect(evaluate(e, { i: 2n })).toEqual({ value: 0x2010n });
    expect(bindVariables(parse('${len} * 2'), { len: 4n })).toBe(8n);
  });

  it('leave a symbol unresolved without a machine, naming it', () => {
    expect(evaluate(parse('alloc(a/b) + ${i}'), { i: 1n })).toEqual({ unresolved: 'no allocation #1 at `a/b`' });
    expect(evaluate(parse('${j}'), {})).toEqual({ unresolved: '`${j}` is not bound' });
  });

  it('say where they cannot be read', () => {
    expect(() => parse('${i} ** 2')).toThrow(ExpressionError);
    expect(() => parse('${i')).toThrow('expected `}`');
    expect(() => parse('(1 + 2')).toThrow('expected `)`');
  });
});

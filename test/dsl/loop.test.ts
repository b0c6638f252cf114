import { describe, expect, it } from 'vitest';
import { parseLoopExpr } from '../../dsl/loop.js';
import { ExpressionError } from '../../dsl/value.js';
import { bindLoopExpr, evalLoopExpr, loopExprVars } from '../../runtime/plan/loop.js';

const ev = (text: string, vars: Record<string, bigint> = {}): bigint => evalLoopExpr(parseLoopExpr(text), vars);

describe('loop expressions', () => {
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
    const e = bindLoopExpr(parseLoopExpr('${len} * ${i} + 0x10'), { len: 0x1000n });
    expect(loopExprVars(e)).toEqual(['i']);
    expect(evalLoopExpr(e, { i: 2n })).toBe(0x2010n);
    expect(bindLoopExpr(parseLoopExpr('${len} * 2'), { len: 4n })).toEqual({ num: 8n });
  });

  it('say where they cannot be read', () => {
    expect(() => parseLoopExpr('${i} ** 2')).toThrow(ExpressionError);
    expect(() => parseLoopExpr('${i')).toThrow('expected `}`');
    expect(() => parseLoopExpr('(1 + 2')).toThrow('expected `)`');
  });
});

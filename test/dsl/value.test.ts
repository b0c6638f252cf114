import { describe, expect, it } from 'vitest';
import { ExpressionError, isExpressionString, parseExpression } from '../../dsl/value.js';

const at = { file: 'x.yaml', line: 1, col: 1, text: '' };
const cx = { at, unknownSite: (g: string) => (g.includes('nosuch') ? { title: 'unknown', fixme: 'x' } : undefined) };
const parse = (text: string): unknown => parseExpression(text, cx);

describe('the compact value expression', () => {
  it('reads a number with the spec address syntax', () => {
    expect(parse('0x6000000000000401')).toBe(0x6000000000000401n);
    expect(parse('2M')).toBe(0x200000n);
  });

  it('binds + tighter than |, and parentheses override', () => {
    expect(parse('1 | 2 + 4')).toEqual({ kind: 'op', op: '|', a: 1n, b: { kind: 'op', op: '+', a: 2n, b: 4n } });
    expect(parse('(1 | 2) + 4')).toEqual({ kind: 'op', op: '+', a: { kind: 'op', op: '|', a: 1n, b: 2n }, b: 4n });
  });

  it('reads table(), alloc() with its glob and ordinal, domain() and va()', () => {
    expect(parse('table(2, L1, 0x0)')).toEqual({ kind: 'table', domain: 2, level: 1, iova: 0n, at });
    expect(parse('table(2, 0, 4K)')).toEqual({ kind: 'table', domain: 2, level: 0, iova: 0x1000n, at });
    expect(parse('alloc(**/alloc_private_subregion[0]/**)')).toEqual({
      alloc: '**/alloc_private_subregion[0]/**',
      nth: 1,
      offset: 0n,
      at,
    });
    expect(parse('alloc(a/b, 3)')).toMatchObject({ alloc: 'a/b', nth: 3 });
    expect(parse('va(domain(2))')).toEqual({ kind: 'va', of: { kind: 'domain', domain: 2, at } });
  });

  it('names the character where reading stopped', () => {
    const offset = (text: string): number => {
      try {
        parse(text);
      } catch (e) {
        if (e instanceof ExpressionError) return e.offset;
      }
      return -1;
    };
    expect(offset('0x1 | tabel(2)')).toBe(6);
    expect(offset('table(2, L9, 0)')).toBe(11);
    expect(offset('0x1 0x2')).toBe(4);
    expect(offset('alloc(nosuch)')).toBe(6);
    expect(offset('alloc(a, 0)')).toBe(9);
    expect(offset('(1 | 2')).toBe(6);
  });

  it('is told apart from a plain address by an operator or a call', () => {
    expect(isExpressionString('0x400000')).toBe(false);
    expect(isExpressionString('8M')).toBe(false);
    expect(isExpressionString('1 | 2')).toBe(true);
    expect(isExpressionString('alloc(x)')).toBe(true);
    expect(isExpressionString('${i} * 4K')).toBe(true);
  });
});

import { ModelBugError } from '../base/model-bug.js';

/**
 * The subset of Linux lib/vsprintf.c the modelled code uses. Linux differs from glibc where it matters to
 * log assertions: `%#x` of 0 prints "0x0" (glibc prints "0"), and with `#` and zero padding the width
 * counts the "0x" prefix (`%#010x` of 0x1000 is "0x00001000").
 */

export type PrintfArg = number | bigint | string;

const SPEC = /%([-+ #0]*)(\d+|\*)?(?:\.(\d+))?(hh|h|ll|l|L|z|t|j)?([diuxXoscp%])([a-zA-Z]*)/g;

interface Flags {
  left: boolean;
  plus: boolean;
  space: boolean;
  alt: boolean;
  zero: boolean;
}

function parseFlags(text: string): Flags {
  return {
    left: text.includes('-'),
    plus: text.includes('+'),
    space: text.includes(' '),
    alt: text.includes('#'),
    zero: text.includes('0'),
  };
}

/** Bit width of the C type a length modifier names, on x86-64 (long and size_t are 64-bit). */
function widthBits(length: string | undefined): 8 | 16 | 32 | 64 {
  switch (length) {
    case 'hh':
      return 8;
    case 'h':
      return 16;
    case undefined:
      return 32;
    default:
      return 64;
  }
}

function toBigInt(arg: PrintfArg | undefined, conversion: string): bigint {
  if (typeof arg === 'bigint') return arg;
  if (typeof arg === 'number' && Number.isInteger(arg)) return BigInt(arg);
  throw new ModelBugError(`vsprintf: %${conversion} needs an integer, got ${String(arg)}`);
}

function pad(body: string, prefix: string, width: number, flags: Flags): string {
  const len = prefix.length + body.length;
  if (len >= width) return prefix + body;
  if (flags.left) return prefix + body + ' '.repeat(width - len);
  if (flags.zero) return prefix + '0'.repeat(width - len) + body;
  return ' '.repeat(width - len) + prefix + body;
}

function formatInteger(
  arg: PrintfArg | undefined,
  conv: string,
  length: string | undefined,
  flags: Flags,
  width: number,
  precision: number | undefined,
): string {
  const bits = BigInt(widthBits(length));
  const raw = toBigInt(arg, conv);
  const signed = conv === 'd' || conv === 'i';
  const value = signed ? BigInt.asIntN(Number(bits), raw) : BigInt.asUintN(Number(bits), raw);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  let digits: string;
  let prefix = '';
  switch (conv) {
    case 'x':
    case 'X':
      digits = magnitude.toString(16);
      if (conv === 'X') digits = digits.toUpperCase();
      // Linux prints the prefix for zero too; glibc does not.
      if (flags.alt) prefix = conv === 'X' ? '0X' : '0x';
      break;
    case 'o':
      digits = magnitude.toString(8);
      if (flags.alt && digits !== '0') prefix = '0';
      break;
    default:
      digits = magnitude.toString(10);
      if (negative) prefix = '-';
      else if (flags.plus) prefix = '+';
      else if (flags.space) prefix = ' ';
  }
  if (precision !== undefined && digits.length < precision) digits = '0'.repeat(precision - digits.length) + digits;
  return pad(digits, prefix, width, { ...flags, zero: flags.zero && precision === undefined });
}

/** %p extensions the modelled code prints: %px (raw pointer) and %pa (phys_addr_t, passed by value here). */
function formatPointer(arg: PrintfArg | undefined, ext: string): [string, number] {
  const value = BigInt.asUintN(64, toBigInt(arg, 'p'));
  if (ext.startsWith('a')) return ['0x' + value.toString(16).padStart(16, '0'), 1];
  if (ext.startsWith('x')) return [value.toString(16).padStart(16, '0'), 1];
  throw new ModelBugError(`vsprintf: %p${ext} is not modelled`);
}

export function vsprintf(format: string, args: readonly PrintfArg[]): string {
  let next = 0;
  const take = (): PrintfArg | undefined => args[next++];
  const out = format.replace(
    SPEC,
    (
      _m,
      flagText: string,
      widthText: string | undefined,
      precText: string | undefined,
      length: string | undefined,
      conv: string,
      tail: string,
    ) => {
      const flags = parseFlags(flagText);
      let width = 0;
      if (widthText === '*') width = Number(take());
      else if (widthText) width = Number(widthText);
      const precision = precText === undefined ? undefined : Number(precText);
      switch (conv) {
        case '%':
          return '%' + tail;
        case 's': {
          let s = String(take() ?? '(null)');
          if (precision !== undefined) s = s.slice(0, precision);
          return pad(s, '', width, { ...flags, zero: false }) + tail;
        }
        case 'c':
          return pad(String.fromCharCode(Number(take())), '', width, { ...flags, zero: false }) + tail;
        case 'p': {
          const [text, used] = formatPointer(take(), tail);
          return text + tail.slice(used);
        }
        default:
          return formatInteger(take(), conv, length, flags, width, precision) + tail;
      }
    },
  );
  if (next !== args.length)
    throw new ModelBugError(`vsprintf: ${args.length} arguments for ${next} conversions in "${format}"`);
  return out;
}

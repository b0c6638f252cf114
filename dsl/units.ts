/** Parses the spec's address/size syntax into a bigint: integers, 0x hex, decimal with K/M/G/T(iB) suffixes. */
const SUFFIX: Record<string, bigint> = { K: 10n, M: 20n, G: 30n, T: 40n };

export function parseAddress(value: number | string): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  const text = value.replace(/_/g, '');
  let result: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) result = BigInt(text);
  else {
    const m = /^([0-9]+)([KMGT])?(?:iB)?$/.exec(text);
    if (!m) return undefined;
    result = BigInt(m[1]!) << (m[2] ? SUFFIX[m[2]]! : 0n);
  }
  return result <= (1n << 64n) - 1n ? result : undefined;
}

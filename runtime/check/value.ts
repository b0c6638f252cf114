import { hex } from '../base/format.js';
import { DIRECT_MAP_SIZE, phys_to_virt } from '../mem/direct-map.js';
import { resolveAlloc, type RunResult } from '../exec/executor.js';
import { isAllocRef, type ValueExpr } from '../plan/plan.js';

const MASK64 = (1n << 64n) - 1n;

/** What a symbol of an expression names on this machine, or why it names nothing. */
export type Resolved = { readonly value: bigint } | { readonly unresolved: string };

/** The expression as a spec writes it in the compact form, for messages. */
export function showValue(e: ValueExpr): string {
  if (typeof e === 'bigint') return hex(e);
  if (isAllocRef(e))
    return `alloc(${e.alloc}${e.nth === 1 ? '' : `, ${e.nth}`})${e.offset ? ` + ${hex(e.offset)}` : ''}`;
  switch (e.kind) {
    case 'table':
      return `table(${e.domain}, L${e.level}, ${hex(e.iova)})`;
    case 'domain':
      return `domain(${e.domain})`;
    case 'va':
      return `va(${showValue(e.of)})`;
    case 'or':
    case 'add':
      return e.terms
        .map((t) => (typeof t === 'object' && 'terms' in t ? `(${showValue(t)})` : showValue(t)))
        .join(e.kind === 'or' ? ' | ' : ' + ');
  }
}

/** Resolves an expression against the machine at the end of a run (or right after a step, for `check:`). */
export function resolveValue(e: ValueExpr, run: RunResult): Resolved {
  if (typeof e === 'bigint') return { value: e };
  if (isAllocRef(e)) {
    const pa = resolveAlloc(run.machine.k, e);
    return pa === undefined ? { unresolved: `no allocation #${e.nth} at \`${e.alloc}\`` } : { value: pa };
  }
  switch (e.kind) {
    case 'table': {
      const domain = run.machine.view.domain(e.domain);
      if (!domain) return { unresolved: `no domain ${e.domain}` };
      const step = domain.walk(e.iova).find((s) => s.level === e.level);
      return step
        ? { value: step.tablePa }
        : { unresolved: `the walk of ${hex(e.iova)} in domain ${e.domain} reaches no level-${e.level} table` };
    }
    case 'domain': {
      const domain = run.machine.view.domain(e.domain);
      return domain ? { value: domain.objectVa } : { unresolved: `no domain ${e.domain}` };
    }
    case 'va': {
      const of = resolveValue(e.of, run);
      if (!('value' in of)) return of;
      return of.value < DIRECT_MAP_SIZE
        ? { value: phys_to_virt(of.value) }
        : { unresolved: `${hex(of.value)} is beyond the direct map` };
    }
    case 'or':
    case 'add': {
      let acc = 0n;
      for (const t of e.terms) {
        const r = resolveValue(t, run);
        if (!('value' in r)) return r;
        acc = e.kind === 'or' ? acc | r.value : (acc + r.value) & MASK64;
      }
      return { value: acc };
    }
  }
}

import { hex } from '../base/format.js';
import { siteMatcher } from '../fault/inject.js';
import type { Kernel } from '../linux/kernel.js';
import { DIRECT_MAP_SIZE, phys_to_virt } from '../mem/direct-map.js';
import type { AllocRef } from '../plan/plan.js';
import type { Symbols } from '../plan/value.js';
import type { MachineView } from '../vendor/view.js';

/** The address of an allocation named by its site glob and ordinal, or undefined when there is none. */
export function resolveAlloc(k: Kernel, ref: AllocRef): bigint | undefined {
  const match = siteMatcher(ref.alloc);
  const hit = k.ledger.history.filter((a) => match(a.site))[ref.nth - 1];
  return hit === undefined ? undefined : hit.pa + ref.offset;
}

type Machine = { readonly k: Kernel; readonly view: MachineView };

/** One namer per machine: it reads the machine when asked, so it never goes stale. */
const namers = new WeakMap<Machine, Symbols>();

/** What the symbols of a value expression name on a machine as it is now. */
export function machineSymbols(m: Machine): Symbols {
  let symbols = namers.get(m);
  if (!symbols) {
    symbols = namerOf(m);
    namers.set(m, symbols);
  }
  return symbols;
}

function namerOf(m: Machine): Symbols {
  return {
    alloc: (ref) => resolveAlloc(m.k, { ...ref, offset: 0n }),
    table: (domain, level, iova) => {
      const d = m.view.domain(domain);
      if (!d) return `no domain ${domain}`;
      const step = d.walk(iova).find((s) => s.level === level);
      return step ? step.tablePa : `the walk of ${hex(iova)} in domain ${domain} reaches no level-${level} table`;
    },
    domain: (id) => m.view.domain(id)?.objectVa,
    va: (pa) => (pa < DIRECT_MAP_SIZE ? phys_to_virt(pa) : undefined),
  };
}

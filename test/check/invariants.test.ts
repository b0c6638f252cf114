import { describe, expect, it } from 'vitest';
import type { Plan } from '../../runtime/plan/plan.js';
import { planFile } from '../../app/runner.js';
import { checkInvariants, type InvariantName } from '../../runtime/check/invariants.js';
import { execute } from '../../runtime/exec/executor.js';
import { Errno } from '../../runtime/linux/errno.js';
import { iommu_free_pages } from '../../runtime/linux/iommu-pages.js';
import { kfree } from '../../runtime/linux/slab.js';
import { set_memory_wb } from '../../runtime/linux/set-memory.js';
import { iommu_unmap } from '../../runtime/linux/amd/iommu-core.js';
import { registerDriverVariant } from '../../runtime/linux/amd/variants/index.js';
import { ViommuPatchV3 } from '../../runtime/linux/amd/viommu.js';
import type { AmdIommu } from '../../runtime/linux/amd/amd-iommu.js';
import type { ProtectionDomain } from '../../runtime/linux/amd/domain.js';
import type { KPtr } from '../../runtime/linux/kptr.js';
import { frame } from '../helpers.js';

/**
 * Each invariant must be able to fail: for each, a driver revision broken on purpose (here in test code,
 * never shipped) runs the init/teardown scenario, and the invariant, and the fault-free stock driver, are
 * checked. Breaking the check itself makes the first expectation fail; breaking the model, the second.
 */
const SUB = 0x200000n;
const pdomOf = (iommu: AmdIommu): ProtectionDomain => iommu.viommu_pdom as ProtectionDomain;

class LeaksSlot0 extends ViommuPatchV3 {
  override viommu_priv_unmap_flush_free(
    iommu: AmdIommu | null,
    iova: bigint,
    size: bigint,
    cpu_va: bigint | null,
  ): number {
    if (iova !== 0n) return super.viommu_priv_unmap_flush_free(iommu, iova, size, cpu_va);
    iommu_unmap(this.d.k, iommu!.viommu_pdom, iova, size);
    this.amd_iommu_flush_private_vm_region(iommu!, iommu!.viommu_pdom, iova, size);
    set_memory_wb(this.d.k, cpu_va!, 512);
    return 0; // forgets iommu_free_pages
  }
}

class FreesUc extends ViommuPatchV3 {
  override viommu_priv_unmap_flush_free(
    iommu: AmdIommu | null,
    iova: bigint,
    size: bigint,
    cpu_va: bigint | null,
  ): number {
    iommu_unmap(this.d.k, iommu!.viommu_pdom, iova, size);
    this.amd_iommu_flush_private_vm_region(iommu!, iommu!.viommu_pdom, iova, size);
    iommu_free_pages(this.d.k, cpu_va); // forgets set_memory_wb
    return 0;
  }
}

/** Frees the subregions but never unmaps them, and keeps the domain. */
class FreesMapped extends ViommuPatchV3 {
  override viommu_private_space_uninit(iommu: AmdIommu): void {
    iommu.viommu_priv_region.forEach((va, i) => {
      set_memory_wb(this.d.k, va!, 512);
      iommu_free_pages(this.d.k, va);
      iommu.viommu_priv_region[i] = null;
    });
  }
}

/** Frees the level-1 table while the top still links it. */
class FreesLinkedTable extends ViommuPatchV3 {
  override viommu_private_space_uninit(iommu: AmdIommu): void {
    iommu_free_pages(this.d.k, pdomOf(iommu).amdv1!.tablePages()[1]!);
  }
}

class FlushesTooNarrow extends ViommuPatchV3 {
  override amd_iommu_flush_private_vm_region(
    iommu: AmdIommu,
    pdom: KPtr<ProtectionDomain>,
    address: bigint,
    _size: bigint,
  ): number {
    return super.amd_iommu_flush_private_vm_region(iommu, pdom, address, 0x1000n);
  }
}

class FlushesWholeDomain extends ViommuPatchV3 {
  override amd_iommu_flush_private_vm_region(
    iommu: AmdIommu,
    pdom: KPtr<ProtectionDomain>,
    _address: bigint,
    _size: bigint,
  ): number {
    return super.amd_iommu_flush_private_vm_region(iommu, pdom, 0n, 0x7fff_ffff_ffff_ffffn);
  }
}

class NeverFlushes extends ViommuPatchV3 {
  override amd_iommu_flush_private_vm_region(): number {
    return 0;
  }
}

/** Drops slot 0 on the floor: still UC-, still allocated, referenced by nothing. */
class LeaksUcSlot0 extends ViommuPatchV3 {
  override viommu_priv_unmap_flush_free(
    iommu: AmdIommu | null,
    iova: bigint,
    size: bigint,
    cpu_va: bigint | null,
  ): number {
    if (iova !== 0n) return super.viommu_priv_unmap_flush_free(iommu, iova, size, cpu_va);
    iommu_unmap(this.d.k, iommu!.viommu_pdom, iova, size);
    return this.amd_iommu_flush_private_vm_region(iommu!, iommu!.viommu_pdom, iova, size);
  }
}

class DoubleFree extends ViommuPatchV3 {
  override viommu_priv_unmap_flush_free(
    iommu: AmdIommu | null,
    iova: bigint,
    size: bigint,
    cpu_va: bigint | null,
  ): number {
    const ret = super.viommu_priv_unmap_flush_free(iommu, iova, size, cpu_va);
    if (iova === 0n) iommu_free_pages(this.d.k, cpu_va);
    return ret;
  }
}

class DerefsAfterClear extends ViommuPatchV3 {
  override viommu_private_space_uninit(iommu: AmdIommu): void {
    super.viommu_private_space_uninit(iommu);
    this.d.k.call(frame('viommu_private_space_uninit'), () =>
      this.d.k.deref(iommu.viommu_pdom, { field: 'protection_domain.id' }),
    );
  }
}

class FreesIdTwice extends ViommuPatchV3 {
  override viommu_private_space_uninit(iommu: AmdIommu): void {
    const id = pdomOf(iommu).id;
    super.viommu_private_space_uninit(iommu);
    this.d.k.call(frame('viommu_private_space_uninit'), () => this.d.g.pdom_ids.free(this.d.k, id));
  }
}

/** Tears the domain down by hand and forgets to give its ID back. */
class KeepsDomainId extends ViommuPatchV3 {
  override viommu_private_space_uninit(iommu: AmdIommu): void {
    const pdom = pdomOf(iommu);
    iommu.viommu_priv_region.forEach((va, i) => this.viommu_priv_unmap_flush_free(iommu, BigInt(i) * SUB, SUB, va));
    iommu.viommu_priv_region.fill(null);
    pdom.amdv1!.deinit();
    kfree(this.d.k, pdom.va);
    iommu.viommu_pdom = null;
  }
}

const BROKEN: [InvariantName, string, typeof ViommuPatchV3, RegExp][] = [
  ['no_leak', 'test-leaks-slot-0', LeaksSlot0, /unreferenced 0x200000 at 0x400000/],
  ['memtype', 'test-frees-uc', FreesUc, /512 pages at 0x400000 freed while UC_MINUS/],
  [
    'memtype',
    'test-leaks-uc',
    LeaksUcSlot0,
    /^512 pages at 0x400000 left UC_MINUS in a leaked block from \S+alloc_private_subregion\[0\]\S+$/,
  ],
  ['no_mapping_to_freed', 'test-frees-mapped', FreesMapped, /domain 2 maps 0x0 to freed memory at 0x400000/],
  ['no_linked_table_freed', 'test-frees-linked-table', FreesLinkedTable, /still links table page at 0x207000/],
  ['flush_before_free', 'test-flushes-too-narrow', FlushesTooNarrow, /freed on iommu0 after a too-narrow invalidation/],
  ['flush_before_free', 'test-never-flushes', NeverFlushes, /freed on iommu0 with no invalidation executed/],
  ['no_bad_free', 'test-double-free', DoubleFree, /double_free of 0xffff888000400000/],
  ['no_oops', 'test-derefs-after-clear', DerefsAfterClear, /kernel NULL pointer dereference/],
  ['no_warn', 'test-frees-id-twice', FreesIdTwice, /WARN in viommu_private_space_uninit/],
  ['ids_balanced', 'test-keeps-domain-id', KeepsDomainId, /domain IDs 2 still allocated/],
];

function scenario(variant: string, file = 'test/check/fixtures/init-teardown.yaml'): Plan {
  const r = planFile(file, 'test/check/fixtures');
  if ('invalid' in r) throw new Error(r.invalid.errors.join('\n'));
  const plan = r.plans[0]!;
  const vendor = plan.machine.vendor;
  return { ...plan, machine: { ...plan.machine, vendor: { ...vendor, driver: { ...vendor.driver, variant } } } };
}

const none = { disabled: [] };

describe('every invariant can fail', () => {
  it('the stock driver breaks none on the fault-free scenario', () => {
    expect(checkInvariants(execute(scenario('v3')), none)).toEqual([]);
    expect(checkInvariants(execute(scenario('v3', 'test/check/fixtures/stale.yaml')), none)).toEqual([]);
  });

  it.each(BROKEN)('%s catches %s', (invariant, name, cls, message) => {
    registerDriverVariant(name, { description: 'broken on purpose', create: (d) => new cls(d) });
    const violations = checkInvariants(execute(scenario(name)), none);
    expect(
      violations
        .filter((v) => v.invariant === invariant && v.level === 'error')
        .map((v) => v.message)
        .join('\n'),
    ).toMatch(message);
    // Switched off with a reason, the same run passes that invariant.
    expect(
      checkInvariants(execute(scenario(name)), { disabled: [invariant] }).some((v) => v.invariant === invariant),
    ).toBe(false);
  });

  it('flush_before_free warns about a whole-domain flush where a range would do', () => {
    registerDriverVariant('test-flushes-whole-domain', {
      description: 'broken on purpose',
      create: (d) => new FlushesWholeDomain(d),
    });
    const v = checkInvariants(execute(scenario('test-flushes-whole-domain')), none);
    expect(v.filter((x) => x.level === 'error')).toEqual([]);
    expect(v.filter((x) => x.level === 'warning').map((x) => x.message)[0]).toMatch(
      /a whole-domain flush where a range would do/,
    );
  });

  it('no_stale_iotlb catches a DMA through a stale entry', () => {
    registerDriverVariant('test-never-flushes', {
      description: 'broken on purpose',
      create: (d) => new NeverFlushes(d),
    });
    const v = checkInvariants(execute(scenario('test-never-flushes', 'test/check/fixtures/stale.yaml')), none);
    expect(v.filter((x) => x.invariant === 'no_stale_iotlb').map((x) => x.message)).toEqual([
      'iommu0 served iova 0x1040 of domain 2 from a stale entry',
    ]);
  });

  it('errno discipline (opt-in) flags the stock driver collapsing -EBUSY into -ENOMEM, unless the translation is listed', () => {
    const plan = scenario('v3');
    const faulted: Plan = {
      ...plan,
      faults: [
        {
          site: '**/alloc_private_subregion[1]/**/_set_memory_uc',
          schedule: { mode: 'nth', n: 1 },
          errno: -Errno.EBUSY,
        },
      ],
    };
    const strict = checkInvariants(execute(faulted), {
      disabled: [],
      enabled: ['errno_discipline'],
      errnoTranslations: [],
    });
    expect(strict.map((v) => `${v.invariant}: ${v.message}`)).toEqual([
      'errno_discipline: step init returned -12, but -16 was injected',
    ]);
    expect(
      checkInvariants(execute(faulted), {
        disabled: [],
        enabled: ['errno_discipline'],
        errnoTranslations: [[-Errno.EBUSY, [-Errno.ENOMEM]]],
      }),
    ).toEqual([]);
  });
});

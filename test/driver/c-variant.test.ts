import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverSpecs } from '../../app/discover.js';
import { planFile, runPlan } from '../../app/runner.js';
import { CapturedState } from '../../runtime/exec/capture.js';
import { execute } from '../../runtime/exec/executor.js';
import type { Plan } from '../../runtime/plan/plan.js';
import { KERNEL_IMPORT_NAMES } from '../../runtime/linux/amd/variants/c/imports.js';
import { buildDriver, findToolchain, TOOLCHAIN_HINT } from '../../runtime/wasm/build.js';

/**
 * The proof that the `c` variant runs the patch's own C faithfully, and that the TypeScript port `v3` is
 * faithful to that C: every shipped spec and sweep that runs v3 (or v3-err-ptr-fix) runs again on the
 * compiled seed patch (or the seed patch with the IS_ERR fix) and must give the same outcome, the same
 * end state, and pass the same golden tables.
 */

/** The seed patch lives outside the project (GPL): beside the checkout, as CI lays shared/ out. */
export function seedPatch(): string | undefined {
  const candidates = [
    process.env.VIOMMU_SPEC_SEED_PATCH,
    resolve('../shared/reference/viommu-private-ipa-region.patch'),
    resolve('../../shared/reference/viommu-private-ipa-region.patch'),
  ];
  return candidates.find((p): p is string => p !== undefined && existsSync(p));
}

/** v3 09/22 with the obvious fix, written as the patch author would: IS_ERR(dom), PTR_ERR(dom). */
export function fixedPatch(seed: string): string {
  const text = readFileSync(seed, 'utf8');
  const fixed = text.replace(
    /\+ if \(!dom\) \{\n(\+ pr_err\("%s: Failed to initialize private space\\n", __func__\);\n)\+ return -ENOMEM;/,
    '+ if (IS_ERR(dom)) {\n$1+ return PTR_ERR(dom);',
  );
  if (fixed === text) throw new Error('the seed patch no longer has the unchecked domain allocation');
  const file = join(mkdtempSync(join(tmpdir(), 'viommu-spec-fix-')), 'viommu-private-ipa-region-fixed.patch');
  writeFileSync(file, fixed);
  return file;
}

const toolchain = findToolchain();
const seed = seedPatch();
const missing =
  seed === undefined
    ? 'no seed patch in ../shared (it is GPL and lives outside the project)'
    : toolchain === undefined
      ? `no clang/wasm-ld (${TOOLCHAIN_HINT})`
      : '';

/**
 * CI installs the toolchain (.ci/run): there, with the patch beside the checkout, a missing toolchain is a
 * failure, not a skip. Without the patch there is nothing of ours to compile, and the skip says so.
 */
if (seed !== undefined && toolchain === undefined && process.env.CI)
  throw new Error(`the c-variant differential test cannot run in CI: ${missing}`);

export function withC(plan: Plan, patch: string): Plan {
  const vendor = plan.machine.vendor;
  return {
    ...plan,
    machine: { ...plan.machine, vendor: { ...vendor, driver: { ...vendor.driver, variant: 'c', source: { patch } } } },
  };
}

function shippedPlans(): Plan[] {
  const found = discoverSpecs(['specs']);
  if (!found.ok) throw new Error(found.error);
  return found.files.flatMap((f) => {
    const r = planFile(f.file, f.root);
    if ('invalid' in r) throw new Error(`${f.file} does not compile`);
    return r.plans;
  });
}

const CI = { update: false, ci: true };

describe.skipIf(missing !== '')(
  `variant c = the seed patch compiled to wasm ${missing ? `(skipped: ${missing})` : ''}`,
  () => {
    const plans = missing ? [] : shippedPlans();
    const fixed = missing ? '' : fixedPatch(seed!);
    const patchFor = (variant: string): string | undefined =>
      variant === 'v3' ? seed : variant === 'v3-err-ptr-fix' ? fixed : undefined;
    const cases = plans.filter((p) => patchFor(p.machine.vendor.driver.variant) !== undefined);

    it('covers the shipped v3 suite: specs, sweeps and both variants', () => {
      expect(cases.filter((p) => p.sweep).length).toBeGreaterThanOrEqual(2);
      expect(cases.filter((p) => !p.sweep).length).toBeGreaterThanOrEqual(20);
      expect(cases.some((p) => p.machine.vendor.driver.variant === 'v3-err-ptr-fix')).toBe(true);
    });

    it('a module built ahead of time (hardware.driver.module) runs as the patch does', () => {
      const plan = cases.find((p) => p.id === 'specs/viommu/init-happy.yaml')!;
      const built = buildDriver(seed!, KERNEL_IMPORT_NAMES);
      const module = join(mkdtempSync(join(tmpdir(), 'viommu-spec-module-')), 'driver.wasm');
      copyFileSync(built.path, module);
      const vendor = plan.machine.vendor;
      const viaModule: Plan = {
        ...plan,
        machine: {
          ...plan.machine,
          vendor: { ...vendor, driver: { ...vendor.driver, variant: 'c', source: { module } } },
        },
      };
      expect(runPlan(viaModule, CI).status).toBe('passed');
      expect(new CapturedState(execute(viaModule)).all()).toEqual(new CapturedState(execute(plan)).all());
    });

    it.each(cases.map((p) => [p.id, p] as const))('%s', (_id, plan) => {
      const c = withC(plan, patchFor(plan.machine.vendor.driver.variant)!);
      const port = runPlan(plan, CI);
      const compiled = runPlan(c, CI);
      expect(compiled.mismatches).toEqual(port.mismatches);
      expect(compiled.status).toBe('passed');
      if (plan.sweep) {
        expect(compiled.sweep).toEqual(port.sweep);
      } else {
        expect(new CapturedState(execute(c)).all()).toEqual(new CapturedState(execute(plan)).all());
      }
    });
  },
);

/** The seed patch with the completion wait's result checked in amd_iommu_flush_private_vm_region. */
export function checkedWaitPatch(seed: string): string {
  const text = readFileSync(seed, 'utf8');
  const edited = text.replace(
    '+ amd_iommu_completion_wait(iommu);\n+ return ret;',
    '+ ret = amd_iommu_completion_wait(iommu);\n+ return ret;',
  );
  if (edited === text) throw new Error('the seed patch no longer ignores the completion wait');
  const file = join(mkdtempSync(join(tmpdir(), 'viommu-spec-edit-')), 'checked-wait.patch');
  writeFileSync(file, edited);
  return file;
}

describe.skipIf(missing !== '')('an edited copy of the patch changes exactly the rows it should', () => {
  // The processor hanging at either doorbell of the teardown flush (its INVALIDATE_IOMMU_PAGES or its
  // COMPLETION_WAIT) makes that wait time out: exactly those rows now see -EIO, and no other row moves.
  it('checking the completion wait changes only the rows where that wait times out', () => {
    const sweepPlan = shippedPlans().find((p) => p.id === 'specs/sweeps/viommu-init-teardown.yaml#v3')!;
    const port = runPlan(sweepPlan, CI);
    const edited = runPlan(withC(sweepPlan, checkedWaitPatch(seed!)), CI);
    const before = new Map(port.sweep!.rows.map((r) => [r.point, r]));
    const changed = edited.sweep!.rows.filter((r) => JSON.stringify(r) !== JSON.stringify(before.get(r.point)));
    const waits = port.sweep!.rows.filter((r) =>
      /amd_iommu_flush_private_vm_region\/iommu_(queue_command|completion_wait)\/hw_cmd_processor_hang/.test(r.point),
    );
    expect(waits.length).toBeGreaterThan(0);
    expect(changed.map((r) => r.point)).toEqual(waits.map((r) => r.point));
    for (const r of changed) expect(r.log.join('\n')).toMatch(/IOTLB flush failed \(-5\)/);
    // The golden table pins it: the edited driver fails the v3 golden file, with those rows in the diff.
    expect(edited.status).toBe('failed');
    expect(edited.mismatches.map((m) => m.title).join('\n')).toMatch(/golden/);
  });
});

describe.skipIf(toolchain === undefined)("the C's own dereference of NULL or an ERR_PTR is the kernel's oops", () => {
  const plan = shippedPlans().find((p) => p.id === 'specs/viommu/init-happy.yaml')!;
  const oopsOf = (body: string): unknown => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-spec-deref-'));
    const file = join(dir, 'deref.c');
    writeFileSync(file, `int viommu_private_space_init(struct amd_iommu *iommu)\n{\n${body}\n}\n`);
    return new CapturedState(execute(withC(plan, file))).all().oops;
  };

  it('a load through NULL', () => {
    expect(oopsOf(' struct protection_domain *p = NULL;\n return p->id;')).toMatchObject({
      message: 'BUG: kernel NULL pointer dereference, address: 0000000000000000 (+ offsetof protection_domain.id)',
      function: 'viommu_private_space_init',
    });
  });

  it('a store through an ERR_PTR', () => {
    expect(oopsOf(' iommu->viommu_pdom = ERR_PTR(-ENOMEM);\n iommu->viommu_pdom->id = 1;\n return 0;')).toMatchObject({
      message: 'BUG: unable to handle page fault for address: fffffffffffffff4 (+ offsetof protection_domain.id)',
      function: 'viommu_private_space_init',
    });
  });

  it('an access through a good pointer is no oops', () => {
    expect(oopsOf(' return iommu->devid == 2 ? 0 : -EINVAL;')).toBeNull();
  });
});

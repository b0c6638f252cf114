import type { AmdDriver } from '../driver.js';
import { ViommuPatchV3 } from '../viommu.js';
import { ViommuPatchV3ErrPtrFix } from './v3-err-ptr-fix.js';
import { ViommuSeriesS } from './series-s.js';
import { ViommuSeriesSFixed } from './series-s-fixed.js';
import { loadDriverModule, ViommuPatchC, type CDriverSource } from './c/driver.js';

/**
 * The driver revisions a spec can run against, by name. A new revision of the patch is one module with a
 * subclass overriding the functions it changes, and one line here.
 */
export interface DriverVariant {
  readonly description: string;
  readonly create: (d: AmdDriver, options: DriverOptions) => ViommuPatchV3;
}

/** What a spec gives besides the variant's name: the `c` variant's module or patch. */
export interface DriverOptions {
  readonly source?: CDriverSource;
}

export const DRIVER_VARIANTS: Record<string, DriverVariant> = {
  v3: { description: 'vIOMMU private IPA region, v3 09/22 as posted', create: (d) => new ViommuPatchV3(d) },
  'v3-err-ptr-fix': {
    description: 'v3 09/22 with IS_ERR(dom)/PTR_ERR(dom) after domain allocation',
    create: (d) => new ViommuPatchV3ErrPtrFix(d),
  },
  'series-s': {
    description:
      'the base tree AMDESE/linux-iommu @ 06c926bd: v3 plus the IOMMU dev_data and DTE, ext-IR table, viommu_enable',
    create: (d) => new ViommuSeriesS(d),
  },
  'series-s-fixed': {
    description:
      'series-s with the guest-table fixes (mappings reset before the tables are freed, the real errno) and ' +
      "nested.c's bug-15 fixes",
    create: (d) => new ViommuSeriesSFixed(d),
  },
  c: {
    description:
      "the functions a patch adds, compiled from its own C to WebAssembly (hardware.driver.patch or .module); the rest is v3's",
    create: (d, o) => {
      if (o.source === undefined) throw new RangeError('driver variant c needs hardware.driver.patch or .module');
      return new ViommuPatchC(d, loadDriverModule(o.source));
    },
  },
};

/** Adds a revision at run time: how test code brings its deliberately broken drivers. */
export function registerDriverVariant(name: string, variant: DriverVariant): void {
  DRIVER_VARIANTS[name] = variant;
}

export function variantNames(): string[] {
  return Object.keys(DRIVER_VARIANTS);
}

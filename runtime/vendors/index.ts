import type { AmdConfig } from '../vendor/amd/config.js';
import { amdVendor } from '../vendor/amd/index.js';
import type { Vendor } from '../vendor/vendor.js';

/**
 * The IOMMUs viommu-spec models, by name: the one registry a machine config's `kind` selects from. A second
 * IOMMU is its vendor module plus one line here and one member of VendorConfig.
 */
export type VendorConfig = AmdConfig;

export const VENDORS: { readonly [K in VendorConfig['kind']]: Vendor<Extract<VendorConfig, { kind: K }>> } = {
  amd: amdVendor,
};

export function vendorOf<C extends VendorConfig>(config: C): Vendor<C> {
  return VENDORS[config.kind];
}

import { DRIVER_VARIANTS } from '../../linux/amd/variants/index.js';
import type { Vendor } from '../vendor.js';
import type { AmdConfig } from './config.js';
import { AMD_DRIVER_OBJECTS } from './driver-objects.js';
import { AMD_ENTRY_POINTS } from './entry-points.js';
import { AMD_GUEST_VOCABULARY } from './guest-state.js';
import { AmdMachine } from './machine.js';

/** The AMD IOMMU with the Linux AMD driver (drivers/iommu/amd) and its vIOMMU series. */
export const amdVendor: Vendor<AmdConfig> = {
  name: 'amd',
  entryPoints: AMD_ENTRY_POINTS,
  driverObjects: AMD_DRIVER_OBJECTS,
  guestVocabulary: AMD_GUEST_VOCABULARY,
  variants: () => Object.entries(DRIVER_VARIANTS).map(([name, v]) => ({ name, description: v.description })),
  boot: (nodes, config, faults, meter) => new AmdMachine(nodes, config, faults, meter),
};

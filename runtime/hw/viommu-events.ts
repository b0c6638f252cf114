import { hex } from '../base/format.js';

/**
 * The two event types the vIOMMU adds to the host event log (AMDESE/linux-iommu @ 06c926bd, iommu.c
 * iommu_print_event; fact sheet §3.11), as the hardware model writes them. Where the driver reads each field:
 * - 0xB GUEST_EVENT_FAULT: gid in word 1 bits 15:0, flags in word 1 bits 27:16, vflags in word 0 bits 27:23.
 * - 0xC VIOMMU_HW_ERR: gid in word 0 bits 15:0, src in word 0 bits 17:16, vflags in word 0 bits 27:23,
 *   flags in word 1 bits 27:16, address in words 2 (low) and 3 (high).
 * The meaning of src, flags and vflags has no public text; the model writes src 0 for the guest command
 * buffer and leaves flags and vflags 0 (runtime/hw/viommu/ASSUMPTIONS.md). `cause` and `guestId` are the
 * model's own note of why the event was posted; they are not in the words.
 */
export const EVENT_GUEST_EVENT_FAULT = 0xb;
export const EVENT_VIOMMU_HW_ERR = 0xc;

/** VIOMMU_HW_ERR src of an error found while processing a guest command buffer (inferred). */
export const VIOMMU_SRC_COMMAND_BUFFER = 0;

/** Why guest command processing posted an event. */
export type GuestQueueCause =
  /** The command could not be read: its GPA did not translate through the translate DTE. */
  | 'fetch'
  /** The guest DomID of the command has no valid entry in the guest's DomID table. */
  | 'domid'
  /** The guest DevID of the command has no valid entry in the guest's DevID table. */
  | 'devid'
  /** A completion wait's store GPA did not translate. */
  | 'store';

export type ViommuEvent = {
  readonly code: 'VIOMMU_HW_ERR' | 'GUEST_EVENT_FAULT';
  readonly gid: number;
  /** GPA of the guest command (or of the completion-wait store) the error is about. */
  readonly address: bigint;
  readonly src: number;
  readonly cause: GuestQueueCause;
  /** The guest DomID or DevID that had no mapping (domid / devid causes). */
  readonly guestId?: number;
};

export function encodeViommuEvent(e: ViommuEvent): [number, number, number, number] {
  const lo = Number(e.address & 0xffff_ffffn);
  const hi = Number((e.address >> 32n) & 0xffff_ffffn);
  if (e.code === 'VIOMMU_HW_ERR')
    return [((e.gid & 0xffff) | ((e.src & 3) << 16)) >>> 0, (EVENT_VIOMMU_HW_ERR << 28) >>> 0, lo, hi];
  return [0, ((EVENT_GUEST_EVENT_FAULT << 28) | (e.gid & 0xffff)) >>> 0, lo, hi];
}

const CAUSES: Readonly<Record<GuestQueueCause, (e: ViommuEvent) => string>> = {
  fetch: () => 'command fetch failed',
  store: () => 'completion-wait store failed',
  domid: (e) => `guest DomID ${hex(e.guestId ?? 0)} not mapped`,
  devid: (e) => `guest DevID ${hex(e.guestId ?? 0)} not mapped`,
};

export function formatViommuEvent(iommu: number, e: ViommuEvent): string {
  const src = e.code === 'VIOMMU_HW_ERR' ? ` src=${hex(e.src)}` : '';
  return `iommu${iommu} ${e.code} gid=${hex(e.gid)} address=${hex(e.address)}${src} (${CAUSES[e.cause](e)})`;
}

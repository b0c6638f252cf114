import { hex } from '../base/format.js';

/**
 * The two event types the vIOMMU adds to the host event log (AMDESE/linux-iommu @ 06c926bd, iommu.c
 * iommu_print_event; fact sheet §3.11), as the hardware model writes them. Where the driver reads each field:
 * - 0xB GUEST_EVENT_FAULT: gid in word 1 bits 15:0, flags in word 1 bits 27:16, vflags in word 0 bits 27:23.
 * - 0xC VIOMMU_HW_ERR: gid in word 0 bits 15:0, src in word 0 bits 17:16, vflags in word 0 bits 27:23,
 *   flags in word 1 bits 27:16, address in words 2 (low) and 3 (high).
 * The meaning of src, flags and vflags has no public text; the model writes src 0 for the guest command
 * buffer and leaves flags and vflags 0 (runtime/hw/viommu/ASSUMPTIONS.md). The types and their encoding
 * live in events.ts; here is what guest command processing adds.
 */
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

/** The model's own note of why guest command processing posted an event: not in the event words. */
export interface GuestQueueNote {
  readonly cause?: GuestQueueCause;
  /** The guest DomID or DevID that had no mapping (domid / devid causes). */
  readonly guestId?: number;
}

const CAUSES: Readonly<Record<GuestQueueCause, (guestId: number) => string>> = {
  fetch: () => 'command fetch failed',
  store: () => 'completion-wait store failed',
  domid: (id) => `guest DomID ${hex(id)} not mapped`,
  devid: (id) => `guest DevID ${hex(id)} not mapped`,
};

/** ` (why)` for an event guest command processing posted, '' for any other. */
export function guestQueueCause(note: GuestQueueNote): string {
  return note.cause ? ` (${CAUSES[note.cause](note.guestId ?? 0)})` : '';
}

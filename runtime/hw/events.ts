import type { GuestQueueNote } from './viommu-events.js';

/**
 * Event log entries (AMD IOMMU spec "Event Log"; Linux EVENT_* in amd_iommu_types.h): 16 bytes, the event
 * code in word 1 bits 31:28.
 */
export const EVENT_ILLEGAL_DEV_TABLE_ENTRY = 0x1;
export const EVENT_IO_PAGE_FAULT = 0x2;
export const EVENT_ILLEGAL_COMMAND_ERROR = 0x5;
/**
 * vIOMMU events (EVENT_TYPE_GUEST_EVENT_FAULT, EVENT_TYPE_VIOMMU_HW_ERR, AMDESE/linux-iommu @ 06c926bd). No
 * specification text was found; the field positions are those iommu_print_event reads (fact sheet §3.11):
 * GUEST_EVENT_FAULT has the guest ID in word 1 bits 15:0; VIOMMU_HW_ERR has the guest ID in word 0 bits
 * 15:0 and the source in 17:16; both have vflags in word 0 bits 27:23, flags in word 1 bits 27:16, and an
 * address in words 2-3.
 */
export const EVENT_GUEST_EVENT_FAULT = 0xb;
export const EVENT_VIOMMU_HW_ERR = 0xc;

/** IO_PAGE_FAULT flags (word 1 bits 27:16). */
export const EVENT_FLAG_I = 0x008;
export const EVENT_FLAG_PR = 0x010;
export const EVENT_FLAG_RW = 0x020;
export const EVENT_FLAG_PE = 0x040;
export const EVENT_FLAG_TR = 0x100;

export type EventWords = [number, number, number, number];

export type HwEvent =
  /** `gid`: the model's note that a guest's command buffer held the command (not in the words). */
  | { readonly code: 'ILLEGAL_COMMAND_ERROR'; readonly commandPa: bigint; readonly gid?: number }
  | {
      readonly code: 'IO_PAGE_FAULT';
      readonly deviceId: number;
      readonly domainId: number;
      readonly address: bigint;
      readonly flags: number;
    }
  | { readonly code: 'ILLEGAL_DEV_TABLE_ENTRY'; readonly deviceId: number; readonly address: bigint }
  | ({
      readonly code: 'GUEST_EVENT_FAULT';
      readonly gid: number;
      readonly flags: number;
      readonly vflags: number;
      /** Words 2-3: the driver prints no address for this type; the model writes the guest GPA concerned. */
      readonly address?: bigint;
    } & GuestQueueNote)
  | ({
      readonly code: 'VIOMMU_HW_ERR';
      readonly gid: number;
      readonly src: number;
      readonly address: bigint;
      readonly flags: number;
      readonly vflags: number;
    } & GuestQueueNote);

/** vflags: word 0 bits 27:23 (IO_PAGE_FAULT_VFLAGS_MASK at the base tree; the RFC had 31:27, bug 16). */
const VFLAGS_SHIFT = 23;

export function encodeEvent(e: HwEvent): EventWords {
  const lo = (v: bigint): number => Number(v & 0xffff_ffffn);
  const hi = (v: bigint): number => Number((v >> 32n) & 0xffff_ffffn);
  switch (e.code) {
    case 'ILLEGAL_COMMAND_ERROR':
      return [0, (EVENT_ILLEGAL_COMMAND_ERROR << 28) >>> 0, lo(e.commandPa), hi(e.commandPa)];
    case 'IO_PAGE_FAULT':
      return [
        e.deviceId & 0xffff,
        ((EVENT_IO_PAGE_FAULT << 28) | ((e.flags & 0xfff) << 16) | (e.domainId & 0xffff)) >>> 0,
        lo(e.address),
        hi(e.address),
      ];
    case 'ILLEGAL_DEV_TABLE_ENTRY':
      return [e.deviceId & 0xffff, (EVENT_ILLEGAL_DEV_TABLE_ENTRY << 28) >>> 0, lo(e.address), hi(e.address)];
    case 'GUEST_EVENT_FAULT':
      return [
        ((e.vflags & 0x1f) << VFLAGS_SHIFT) >>> 0,
        ((EVENT_GUEST_EVENT_FAULT << 28) | ((e.flags & 0xfff) << 16) | (e.gid & 0xffff)) >>> 0,
        lo(e.address ?? 0n),
        hi(e.address ?? 0n),
      ];
    case 'VIOMMU_HW_ERR':
      return [
        ((e.gid & 0xffff) | ((e.src & 3) << 16) | ((e.vflags & 0x1f) << VFLAGS_SHIFT)) >>> 0,
        ((EVENT_VIOMMU_HW_ERR << 28) | ((e.flags & 0xfff) << 16)) >>> 0,
        lo(e.address),
        hi(e.address),
      ];
  }
}

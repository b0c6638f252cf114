import { encodeViommuEvent, type ViommuEvent } from './viommu-events.js';

/**
 * Event log entries (AMD IOMMU spec "Event Log"; Linux EVENT_* in amd_iommu_types.h): 16 bytes, the event
 * code in word 1 bits 31:28.
 */
export const EVENT_ILLEGAL_DEV_TABLE_ENTRY = 0x1;
export const EVENT_IO_PAGE_FAULT = 0x2;
export const EVENT_ILLEGAL_COMMAND_ERROR = 0x5;

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
  /** The vIOMMU's event types (viommu-events.ts). */
  | ViommuEvent;

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
    case 'VIOMMU_HW_ERR':
    case 'GUEST_EVENT_FAULT':
      return encodeViommuEvent(e);
  }
}

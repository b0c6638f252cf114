import { formatRange, hex } from '../base/format.js';
import type { Command } from './commands.js';
import type { HwEvent } from './events.js';
import { guestQueueCause } from './viommu-events.js';

/** A decoded command as the end state prints it: one line, the fields a reviewer reads against the C. */
export function formatCommand(c: Command): string {
  switch (c.op) {
    case 'COMPLETION_WAIT':
      return `COMPLETION_WAIT${c.store ? ` store=${hex(c.semaphorePa)} data=${hex(c.data)}` : ''}${c.interrupt ? ' interrupt' : ''}`;
    case 'INVALIDATE_IOMMU_PAGES':
      return `INVALIDATE_IOMMU_PAGES domain=${c.domainId} ${formatRange(c.range.start, c.range.size)}${c.pde ? ' pde' : ''}${c.gn ? ` gn pasid=${hex(c.pasid)}` : ''}`;
    case 'INVALIDATE_IOTLB_PAGES':
      return `INVALIDATE_IOTLB_PAGES devid=${hex(c.deviceId)} ${formatRange(c.range.start, c.range.size)}`;
    case 'INVALIDATE_DEVTAB_ENTRY':
      return `INVALIDATE_DEVTAB_ENTRY devid=${hex(c.deviceId)}`;
    case 'INVALIDATE_INTERRUPT_TABLE':
      return `INVALIDATE_INTERRUPT_TABLE devid=${hex(c.deviceId)}`;
    case 'COMPLETE_PPR_REQUEST':
      return `COMPLETE_PPR_REQUEST devid=${hex(c.deviceId)} tag=${c.tag}`;
    case 'INVALIDATE_IOMMU_ALL':
      return 'INVALIDATE_IOMMU_ALL';
    case 'RESET_VMMIO':
      return `RESET_VMMIO gid=${hex(c.gid)}${c.all ? ' all' : ''}${c.vcmd ? ' vcmd' : ''}`;
  }
}

/** An event-log record of IOMMU `iommu`, as the end state prints it. */
export function formatHwEvent(iommu: number, e: HwEvent): string {
  switch (e.code) {
    case 'ILLEGAL_COMMAND_ERROR':
      return `iommu${iommu} ILLEGAL_COMMAND_ERROR command=${hex(e.commandPa)}${e.gid === undefined ? '' : ` gid=${hex(e.gid)}`}`;
    case 'IO_PAGE_FAULT':
      return `iommu${iommu} IO_PAGE_FAULT devid=${hex(e.deviceId)} domain=${e.domainId} address=${hex(e.address)} flags=${hex(e.flags)}`;
    case 'ILLEGAL_DEV_TABLE_ENTRY':
      return `iommu${iommu} ILLEGAL_DEV_TABLE_ENTRY devid=${hex(e.deviceId)} address=${hex(e.address)}`;
    case 'GUEST_EVENT_FAULT':
      return `iommu${iommu} GUEST_EVENT_FAULT gid=${hex(e.gid)}${e.address === undefined ? '' : ` address=${hex(e.address)}`} flags=${hex(e.flags)} vflags=${hex(e.vflags)}${guestQueueCause(e)}`;
    case 'VIOMMU_HW_ERR':
      return `iommu${iommu} VIOMMU_HW_ERR gid=${hex(e.gid)} address=${hex(e.address)} src=${e.src} flags=${hex(e.flags)} vflags=${hex(e.vflags)}${guestQueueCause(e)}`;
  }
}

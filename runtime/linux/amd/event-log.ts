import * as R from '../../hw/regs.js';
import type { Kernel } from '../kernel.js';
import { AMDESE_S, portedFrom } from '../ported.js';
import { printers } from '../printk.js';
import type { AmdIommu } from './amd-iommu.js';
import { dteAddress } from './dev-table.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', ['iommu_print_event']);

/** EVENT_TYPE_* (amd_iommu_types.h @ 06c926bd). */
const EVENT_TYPE_ILL_DEV = 0x1;
const EVENT_TYPE_IO_FAULT = 0x2;
const EVENT_TYPE_DEV_TAB_ERR = 0x3;
const EVENT_TYPE_PAGE_TAB_ERR = 0x4;
const EVENT_TYPE_ILL_CMD = 0x5;
const EVENT_TYPE_CMD_HARD_ERR = 0x6;
const EVENT_TYPE_IOTLB_INV_TO = 0x7;
const EVENT_TYPE_INV_DEV_REQ = 0x8;
const EVENT_TYPE_INV_PPR_REQ = 0x9;
const EVENT_TYPE_GUEST_EVENT_FAULT = 0xb;
const EVENT_TYPE_VIOMMU_HW_ERR = 0xc;
const EVENT_TYPE_RMP_FAULT = 0xd;
const EVENT_TYPE_RMP_HW_ERR = 0xe;

const PCI_BUS_NUM = (devid: number): number => (devid >> 8) & 0xff;
const PCI_SLOT = (devid: number): number => (devid >> 3) & 0x1f;
const PCI_FUNC = (devid: number): number => devid & 7;
/** IO_PAGE_FAULT_VFLAGS_MASK: word 0 bits 27:23 at the base tree (the RFC had 31:27: the sheet's bug 16). */
const vflagsOf = (event0: number): number => (event0 >>> 23) & 0x1f;

/**
 * iommu_print_event (iommu.c @ 06c926bd): one event-log record, decoded and printed with dev_err on the
 * IOMMU's sysfs device ("iommu ivhdN: AMD-Vi: ..."). The types that go through a PCI device lookup
 * (IO_PAGE_FAULT, RMP_PAGE_FAULT, RMP_HW_ERROR) and INVALID_PPR_REQUEST are not ported: for those it prints
 * nothing and returns false. A type-0 record is the erratum-732 retry loop, which gives up with
 * "No event written to event log". Afterwards the record is zeroed (no SNP here).
 */
export function iommu_print_event(k: Kernel, iommu: AmdIommu, eventPa: bigint): boolean {
  return k.call(F.iommu_print_event, () => {
    const dev = printers(k.log, `iommu ivhd${iommu.index}: AMD-Vi: `);
    const pr = printers(k.log, 'AMD-Vi: ');
    const event = [0, 1, 2, 3].map((i) => k.mem.read32(eventPa + BigInt(4 * i)));
    const [e0, e1, e2, e3] = event as [number, number, number, number];
    const type = (e1 >>> 28) & 0xf;
    const devid = e0 & 0xffff;
    const pasid = (e0 & 0xf0000) | (e1 & 0xffff);
    const flags = (e1 >>> 16) & 0xfff;
    const address = (BigInt(e3) << 32n) | BigInt(e2);
    const seg = iommu.seg;
    const bdf = [seg, PCI_BUS_NUM(devid), PCI_SLOT(devid), PCI_FUNC(devid)] as const;
    switch (type) {
      case 0:
        pr.pr_err('No event written to event log\n');
        return true;
      case EVENT_TYPE_IO_FAULT:
      case EVENT_TYPE_RMP_FAULT:
      case EVENT_TYPE_RMP_HW_ERR:
      case EVENT_TYPE_INV_PPR_REQ:
        return false;
      case EVENT_TYPE_ILL_DEV: {
        dev.pr_err(
          'Event logged [ILLEGAL_DEV_TABLE_ENTRY deice=%04x:%02x:%02x.%x pasid=0x%05x address=0x%llx flags=0x%04x vflags=%#x]\n',
          ...bdf,
          pasid,
          address,
          flags,
          vflagsOf(e0),
        );
        dev.pr_err('Control Reg : 0x%llx\n', iommu.mmio.readq(R.MMIO_CONTROL_OFFSET));
        const at = dteAddress(iommu, devid);
        for (let i = 0; i < 4; ++i) pr.pr_err('DTE[%d]: %016llx\n', i, k.mem.read64(at + BigInt(8 * i)));
        break;
      }
      case EVENT_TYPE_DEV_TAB_ERR:
        dev.pr_err(
          'Event logged [DEV_TAB_HARDWARE_ERROR device=%04x:%02x:%02x.%x address=%#llx flags=%#04x vlfags=%#x]\n',
          ...bdf,
          address,
          flags,
          vflagsOf(e0),
        );
        break;
      case EVENT_TYPE_PAGE_TAB_ERR:
        dev.pr_err(
          'Event logged [PAGE_TAB_HARDWARE_ERROR device=%04x:%02x:%02x.%x pasid=0x%04x address=0x%llx flags=0x%04x vflags=%#x]\n',
          ...bdf,
          pasid,
          address,
          flags,
          vflagsOf(e0),
        );
        break;
      case EVENT_TYPE_ILL_CMD:
        dev.pr_err('Event logged [ILLEGAL_COMMAND_ERROR address=0x%llx]\n', address);
        for (let i = 0; i < 4; ++i) pr.pr_err('CMD[%d]: %08x\n', i, k.mem.read32(address + BigInt(4 * i)));
        break;
      case EVENT_TYPE_CMD_HARD_ERR:
        dev.pr_err('Event logged [COMMAND_HARDWARE_ERROR address=0x%llx flags=0x%04x]\n', address, flags);
        break;
      case EVENT_TYPE_IOTLB_INV_TO:
        dev.pr_err('Event logged [IOTLB_INV_TIMEOUT device=%04x:%02x:%02x.%x address=0x%llx]\n', ...bdf, address);
        break;
      case EVENT_TYPE_INV_DEV_REQ:
        dev.pr_err(
          'Event logged [INVALID_DEVICE_REQUEST device=%04x:%02x:%02x.%x pasid=0x%05x address=0x%llx flags=0x%04x]\n',
          ...bdf,
          pasid,
          address,
          flags,
        );
        break;
      case EVENT_TYPE_GUEST_EVENT_FAULT: {
        // `u8 gid = event[1] & 0xFFFF`: a 16-bit guest ID cut to 8 bits, printed as "#%x" (the sheet's bug 12)
        const gid = e1 & 0xffff & 0xff;
        dev.pr_err('Event logged [GUEST_EVENT_FAULT gid=#%x flags=0x%04x vflags=%#x]\n', gid, flags, vflagsOf(e0));
        break;
      }
      case EVENT_TYPE_VIOMMU_HW_ERR: {
        const gid = e0 & 0xffff;
        const src = (e0 >>> 16) & 0x3;
        dev.pr_err(
          'Event logged [VIOMMU_HW_ERR gid=%#x address=%#llx src=%#x flags=%#x vflags=%#x]\n',
          gid,
          address,
          src,
          flags,
          vflagsOf(e0),
        );
        break;
      }
      default:
        dev.pr_err(
          'Event logged [UNKNOWN event[0]=0x%08x event[1]=0x%08x event[2]=0x%08x event[3]=0x%08x\n',
          e0,
          e1,
          e2,
          e3,
        );
    }
    // Erratum 732: clear the entry back to zero (not SNP-enabled here).
    for (let i = 0; i < 4; ++i) k.mem.write32(eventPa + BigInt(4 * i), 0);
    return true;
  });
}

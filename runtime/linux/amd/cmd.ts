import { fls64, lower_32_bits, upper_32_bits } from '../../base/bits.js';
import { virt_to_phys } from '../../mem/direct-map.js';
import { PAGE_SIZE } from '../../mem/phys-memory.js';
import * as R from '../../hw/regs.js';
import { Errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { printers } from '../printk.js';
import {
  CMD_COMPL_WAIT,
  CMD_INV_ALL,
  CMD_INV_DEV_ENTRY,
  CMD_INV_IOMMU_PAGES,
  CMD_INV_IOTLB_PAGES,
  CMD_INV_IRT,
  CMD_RESET_VMMIO,
} from '../../hw/commands.js';
import {
  CMD_COMPL_WAIT_STORE_MASK,
  CMD_INV_IOMMU_ALL_PAGES_ADDRESS,
  CMD_INV_IOMMU_PAGES_GN_MASK,
  CMD_INV_IOMMU_PAGES_PDE_MASK,
  CMD_INV_IOMMU_PAGES_SIZE_MASK,
  LOOP_TIMEOUT,
  type AmdIommu,
} from './amd-iommu.js';
import { AMDESE_S, portedFrom } from '../ported.js';

const F = portedFrom(AMDESE_S, 'drivers/iommu/amd/iommu.c', [
  'iommu_queue_command',
  'iommu_completion_wait',
  'iommu_flush_dte',
  'iommu_reset_vmmio',
]);

/**
 * The command half of drivers/iommu/amd/iommu.c (generic_pt era): builders, the ring writer, and the
 * completion wait. Function names and order of effects follow the C so a spec can be read against it.
 */

/** struct iommu_cmd { u32 data[4]; } */
export type IommuCmd = [number, number, number, number];

const PAGE_MASK = ~0xfffn;

function CMD_SET_TYPE(cmd: IommuCmd, op: number): void {
  cmd[1] = (cmd[1] | (op << 28)) >>> 0;
}

function newCmd(): IommuCmd {
  return [0, 0, 0, 0];
}

export function build_completion_wait(iommu: AmdIommu, data: bigint): IommuCmd {
  const paddr = virt_to_phys(iommu.cmd_sem);
  const cmd = newCmd();
  cmd[0] = (lower_32_bits(paddr) | CMD_COMPL_WAIT_STORE_MASK) >>> 0;
  cmd[1] = upper_32_bits(paddr);
  cmd[2] = lower_32_bits(data);
  cmd[3] = upper_32_bits(data);
  CMD_SET_TYPE(cmd, CMD_COMPL_WAIT);
  return cmd;
}

export function build_inv_dte(devid: number): IommuCmd {
  const cmd = newCmd();
  cmd[0] = devid & 0xffff;
  CMD_SET_TYPE(cmd, CMD_INV_DEV_ENTRY);
  return cmd;
}

const INV_SIZE_BIT = BigInt(CMD_INV_IOMMU_PAGES_SIZE_MASK);
/** (1ull << n) - 1 for the msb_diff values build_inv_address uses (0..51), made once. */
const LOW_BITS: readonly bigint[] = Array.from({ length: 52 }, (_, n) => (1n << BigInt(n)) - 1n);

/**
 * Builds an invalidation address for one page or a naturally aligned power-of-two block that contains
 * [address, address + size): the bits below the highest bit that differs between start and end are set.
 */
export function build_inv_address(address: bigint, size: bigint): bigint {
  const pages = ((address & 0xfffn) + size + 0xfffn) >> 12n; // iommu_num_pages()
  if (pages === 1n) return address & PAGE_MASK;
  const end = BigInt.asUintN(64, address + size - 1n);
  const msbDiff = fls64(end ^ address) - 1;
  // Bits 63:52 are sign extended: if bit 51 or above differs, invalidate everything.
  if (msbDiff > 51) address = CMD_INV_IOMMU_ALL_PAGES_ADDRESS;
  else address |= LOW_BITS[msbDiff]!; // end ^ address is not 0: more than one page
  address &= PAGE_MASK;
  return address | INV_SIZE_BIT;
}

export function build_inv_iommu_pages(
  address: bigint,
  size: bigint,
  domid: number,
  pasid: number,
  gn: boolean,
): IommuCmd {
  const inv = build_inv_address(address, size);
  const cmd = newCmd();
  cmd[1] = (cmd[1] | (domid & 0xffff)) >>> 0;
  cmd[2] = lower_32_bits(inv);
  cmd[3] = upper_32_bits(inv);
  // PDE bit - we want to flush everything, not only the PTEs
  cmd[2] = (cmd[2] | CMD_INV_IOMMU_PAGES_PDE_MASK) >>> 0;
  if (gn) {
    cmd[0] = (cmd[0] | pasid) >>> 0;
    cmd[2] = (cmd[2] | CMD_INV_IOMMU_PAGES_GN_MASK) >>> 0;
  }
  CMD_SET_TYPE(cmd, CMD_INV_IOMMU_PAGES);
  return cmd;
}

export function build_inv_iotlb_pages(
  devid: number,
  qdep: number,
  address: bigint,
  size: bigint,
  pasid: number,
  gn: boolean,
): IommuCmd {
  const inv = build_inv_address(address, size);
  const cmd = newCmd();
  cmd[0] = (devid & 0xffff) | ((qdep & 0xff) << 24);
  cmd[1] = devid & 0xffff;
  cmd[2] = lower_32_bits(inv);
  cmd[3] = upper_32_bits(inv);
  if (gn) {
    cmd[0] |= ((pasid >> 8) & 0xff) << 16;
    cmd[1] |= (pasid & 0xff) << 16;
    cmd[2] |= CMD_INV_IOMMU_PAGES_GN_MASK;
  }
  cmd[0] >>>= 0;
  cmd[1] >>>= 0;
  cmd[2] >>>= 0;
  CMD_SET_TYPE(cmd, CMD_INV_IOTLB_PAGES);
  return cmd;
}

export function build_inv_all(): IommuCmd {
  const cmd = newCmd();
  CMD_SET_TYPE(cmd, CMD_INV_ALL);
  return cmd;
}

/** build_reset_vmmio: guest ID in word 0 with `all` at bit 28 and `vcmd` at bit 31. */
export function build_reset_vmmio(gid: number, vcmd: boolean, all: boolean): IommuCmd {
  const cmd = newCmd();
  cmd[0] = gid & 0xffff;
  if (all) cmd[0] |= 1 << 28;
  if (vcmd) cmd[0] = (cmd[0] | (1 << 31)) >>> 0;
  CMD_SET_TYPE(cmd, CMD_RESET_VMMIO);
  return cmd;
}

/** iommu_reset_vmmio: RESET_VMMIO(vcmd, all) and a completion wait; both results are ignored (void). */
export function iommu_reset_vmmio(k: Kernel, iommu: AmdIommu, gid: number): void {
  k.call(F.iommu_reset_vmmio, () => {
    iommu_queue_command(k, iommu, build_reset_vmmio(gid, true, true));
    amd_iommu_completion_wait(k, iommu);
  });
}

export function build_inv_irt(devid: number): IommuCmd {
  const cmd = newCmd();
  cmd[0] = devid & 0xffff;
  CMD_SET_TYPE(cmd, CMD_INV_IRT);
  return cmd;
}

/** Copies the command at the tail and rings the doorbell (writes the tail register). */
function copy_cmd_to_buffer(k: Kernel, iommu: AmdIommu, cmd: IommuCmd): void {
  let tail = iommu.cmd_buf_tail;
  // memcpy(iommu->cmd_buf + tail, cmd, sizeof(*cmd)): a 16-byte slot is two aligned qwords of one page,
  // found by its byte position (the direct map ends below 2^53: an exact number).
  const target = Number(virt_to_phys(iommu.cmd_buf)) + tail;
  const pfn = Math.floor(target / PAGE_SIZE);
  const offset = target % PAGE_SIZE;
  k.mem.write64Halves(pfn, offset, cmd[0], cmd[1]);
  k.mem.write64Halves(pfn, offset + 8, cmd[2], cmd[3]);
  tail = (tail + 16) % iommu.cmdBufSize;
  iommu.cmd_buf_tail = tail;
  iommu.mmio.writel(R.MMIO_CMD_TAIL_OFFSET, tail);
}

/**
 * Writes the command to the ring, waiting for room: with `left <= 0x20` it re-reads the head, the first
 * time without a delay, then udelay(1) per try, and gives up at the LOOP_TIMEOUT-th try.
 */
export function __iommu_queue_command_sync(k: Kernel, iommu: AmdIommu, cmd: IommuCmd, sync: boolean): number {
  let count = 0;
  const nextTail = (iommu.cmd_buf_tail + 16) % iommu.cmdBufSize;
  for (;;) {
    const left = ((iommu.cmd_buf_head - nextTail) >>> 0) % iommu.cmdBufSize; // u32 arithmetic
    if (left > 0x20) break;
    if (count++) {
      if (count === LOOP_TIMEOUT) {
        printers(k.log, 'AMD-Vi: ').pr_err('Command buffer timeout\n');
        return -Errno.EIO;
      }
      k.udelay(1);
    }
    iommu.cmd_buf_head = iommu.mmio.readl(R.MMIO_CMD_HEAD_OFFSET);
    // The head cannot move again before the next doorbell: the remaining tries re-read the same head.
    if (count > 0 && iommu.mmio.idle() && ((iommu.cmd_buf_head - nextTail) >>> 0) % iommu.cmdBufSize <= 0x20) {
      k.udelay(LOOP_TIMEOUT - 1 - count);
      count = LOOP_TIMEOUT - 1;
    }
  }
  copy_cmd_to_buffer(k, iommu, cmd);
  iommu.need_sync = sync;
  return 0;
}

export function iommu_queue_command_sync(k: Kernel, iommu: AmdIommu, cmd: IommuCmd, sync: boolean): number {
  return k.call(F.iommu_queue_command, () => __iommu_queue_command_sync(k, iommu, cmd, sync));
}

export function iommu_queue_command(k: Kernel, iommu: AmdIommu, cmd: IommuCmd): number {
  return iommu_queue_command_sync(k, iommu, cmd, true);
}

/** READ_ONCE(*iommu->cmd_sem): a poll of the hardware's progress. */
function readSemaphore(k: Kernel, iommu: AmdIommu): bigint {
  iommu.mmio.poll();
  return k.mem.read64(virt_to_phys(iommu.cmd_sem));
}

function wait_on_sem(k: Kernel, iommu: AmdIommu, data: bigint): number {
  let i = 0;
  // cmd_sem holds a monotonically non-decreasing completion sequence number.
  while (BigInt.asIntN(64, readSemaphore(k, iommu) - data) < 0n && i < LOOP_TIMEOUT) {
    // Nothing can store to the semaphore before the next doorbell: the remaining polls all read this value.
    if (iommu.mmio.idle()) {
      k.udelay(LOOP_TIMEOUT - i);
      i = LOOP_TIMEOUT;
      break;
    }
    k.udelay(1);
    i += 1;
  }
  if (i === LOOP_TIMEOUT) {
    printers(k.log, 'AMD-Vi: ').pr_alert(
      'IOMMU %04x:%02x:%02x.%01x: Completion-Wait loop timed out\n',
      iommu.seg,
      iommu.devid >> 8,
      (iommu.devid >> 3) & 0x1f,
      iommu.devid & 7,
    );
    return -Errno.EIO;
  }
  return 0;
}

/** Queues a COMPLETION_WAIT and polls its semaphore; nothing at all when no command needs syncing. */
export function iommu_completion_wait(k: Kernel, iommu: AmdIommu): number {
  return k.call(F.iommu_completion_wait, () => {
    if (!iommu.need_sync) return 0;
    const data = ++iommu.cmd_sem_val;
    const cmd = build_completion_wait(iommu, data);
    const ret = __iommu_queue_command_sync(k, iommu, cmd, false);
    if (ret) return ret;
    return wait_on_sem(k, iommu, data);
  });
}

/** Exported under this name in the vIOMMU tree. */
export const amd_iommu_completion_wait = iommu_completion_wait;

export function iommu_flush_dte(k: Kernel, iommu: AmdIommu, devid: number): number {
  return k.call(F.iommu_flush_dte, () => iommu_queue_command(k, iommu, build_inv_dte(devid)));
}

export function amd_iommu_flush_all(k: Kernel, iommu: AmdIommu): void {
  iommu_queue_command(k, iommu, build_inv_all());
  iommu_completion_wait(k, iommu);
}

import { ErrPtr } from '../linux/kptr.js';
import * as R from '../hw/regs.js';
import { invariant } from '../model-bug.js';
import { enumerateLeaves } from '../pt/enumerate.js';
import type { Machine } from '../exec/machine.js';

/**
 * The model's own invariants, checked after every run. Unlike the sweep invariants (which judge the driver),
 * a failure here means viommu-spec itself is wrong: a ModelBugError, exit code 3.
 */
export function selfCheck(m: Machine): void {
  const { k, driver } = m;
  // The allocator ledger must agree with the buddy allocator, page for page.
  for (const buddy of k.buddies) {
    const total = buddy.node.endPfn - buddy.node.startPfn;
    const live = k.ledger
      .liveAllocations()
      .filter((a) => a.node === buddy.node.id)
      .reduce((n, a) => n + (1 << a.order), 0);
    invariant(buddy.freePages + live === total, () => `node ${buddy.node.id}: ${buddy.freePages} free + ${live} live pages != ${total}`);
  }
  for (const iommu of driver.iommus) {
    // Ring pointers stay inside the ring, on 16-byte entries.
    for (const reg of [R.MMIO_CMD_HEAD_OFFSET, R.MMIO_CMD_TAIL_OFFSET]) {
      const v = Number(iommu.mmio.readq(reg));
      invariant(v % 16 === 0 && v < iommu.cmdBufSize, () => `iommu${iommu.index}: ring pointer 0x${v.toString(16)} at MMIO 0x${reg.toString(16)} is outside the ${iommu.cmdBufSize}-byte ring`);
    }
    invariant(iommu.cmd_buf_tail % 16 === 0 && iommu.cmd_buf_tail < iommu.cmdBufSize, () => `iommu${iommu.index}: driver tail 0x${iommu.cmd_buf_tail.toString(16)} out of range`);
    // Every table a live domain links lies in simulated memory.
    const d = iommu.viommu_pdom;
    if (d && !(d instanceof ErrPtr) && d.amdv1) {
      for (const t of d.amdv1.tablePages()) invariant(k.mem.contains(t - 0xffff_8880_0000_0000n), () => `domain ${d.id} links a table outside memory`);
      const { host_pt_root, mode } = d.amdv1.hwInfo();
      enumerateLeaves(k.mem, host_pt_root, mode);
    }
  }
}

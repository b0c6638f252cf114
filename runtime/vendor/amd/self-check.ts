import { hex } from '../../base/format.js';
import { invariant } from '../../base/model-bug.js';
import * as R from '../../hw/regs.js';
import { virt_to_phys } from '../../mem/direct-map.js';
import type { AmdMachine } from './machine.js';

/**
 * The model's own invariants after every run. Unlike the sweep invariants (which judge the driver), a
 * failure here means viommu-spec itself is wrong: a ModelBugError, exit code 3.
 */
export function amdSelfCheck(m: AmdMachine): void {
  m.k.selfCheck();
  for (const iommu of m.driver.iommus) {
    // Ring pointers stay inside the ring, on 16-byte entries.
    for (const reg of [R.MMIO_CMD_HEAD_OFFSET, R.MMIO_CMD_TAIL_OFFSET]) {
      const v = Number(iommu.mmio.readq(reg));
      invariant(
        v % 16 === 0 && v < iommu.cmdBufSize,
        () =>
          `iommu${iommu.index}: ring pointer ${hex(v)} at MMIO ${hex(reg)} is outside the ${iommu.cmdBufSize}-byte ring`,
      );
    }
    invariant(
      iommu.cmd_buf_tail % 16 === 0 && iommu.cmd_buf_tail < iommu.cmdBufSize,
      () => `iommu${iommu.index}: driver tail ${hex(iommu.cmd_buf_tail)} out of range`,
    );
  }
  // Every table a live domain links lies in simulated memory.
  for (const d of m.view.domains()) {
    for (const t of d.tablePages())
      invariant(m.k.mem.contains(virt_to_phys(t)), () => `domain ${d.id} links a table outside memory`);
  }
}

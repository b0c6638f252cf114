import { describe, expect, it } from 'vitest';
import {
  build_inv_dte,
  build_inv_iommu_pages,
  iommu_completion_wait,
  iommu_queue_command,
  type IommuCmd,
} from '../../runtime/linux/amd/cmd.js';
import { Errno } from '../../runtime/linux/errno.js';
import * as R from '../../runtime/hw/regs.js';
import { virt_to_phys } from '../../runtime/mem/direct-map.js';
import { bootOne } from './machine.js';

describe('command ring and processor', () => {
  it('wraps around the end of the 8 KiB ring and executes every command in order', () => {
    const { k, iommu } = bootOne();
    for (let i = 0; i < 600; i++) expect(iommu_queue_command(k, iommu, build_inv_dte(i))).toBe(0);
    expect(iommu.cmd_buf_tail).toBe((600 * 16) % 8192);
    expect(
      iommu.mmio.executed.map((c) => (c.command.op === 'INVALIDATE_DEVTAB_ENTRY' ? c.command.deviceId : -1)),
    ).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect(iommu.mmio.executed[512]!.offset).toBe(0); // the 513th command sits at the start again
  });

  it('holds exactly 509 commands when the processor is stalled; the 510th times out with -EIO', () => {
    const { k, iommu } = bootOne({ kind: 'stalled', after: 0 });
    for (let i = 0; i < 509; i++) expect(iommu_queue_command(k, iommu, build_inv_dte(i))).toBe(0);
    const before = k.clockNs;
    expect(iommu_queue_command(k, iommu, build_inv_dte(509))).toBe(-Errno.EIO);
    expect(k.log.lines.map((l) => [l.level, l.text])).toEqual([['err', 'AMD-Vi: Command buffer timeout']]);
    // LOOP_TIMEOUT tries, the first without a delay: 99 998 µs of simulated busy-waiting.
    expect(k.clockNs - before).toBe(99_998_000);
    expect(iommu.cmd_buf_tail).toBe(509 * 16);
    expect(iommu.mmio.executed).toEqual([]);
  });

  it('times out a completion wait on a stalled processor with the Linux alert', () => {
    const { k, iommu } = bootOne({ kind: 'stalled', after: 1 });
    expect(iommu_queue_command(k, iommu, build_inv_dte(1))).toBe(0);
    const before = k.clockNs;
    expect(iommu_completion_wait(k, iommu)).toBe(-Errno.EIO);
    expect(k.clockNs - before).toBe(100_000_000); // LOOP_TIMEOUT polls, a udelay(1) after each
    expect(k.log.lines.map((l) => [l.level, l.text])).toEqual([
      ['alert', 'AMD-Vi: IOMMU 0000:00:00.2: Completion-Wait loop timed out'],
    ]);
    expect(iommu.mmio.executed.map((c) => c.command.op)).toEqual(['INVALIDATE_DEVTAB_ENTRY']);
  });

  it('makes the driver spin while the processor lags, then succeeds', () => {
    const { k, iommu } = bootOne({ kind: 'lag', polls: 50 });
    expect(iommu_queue_command(k, iommu, build_inv_dte(1))).toBe(0);
    expect(iommu.mmio.executed).toEqual([]);
    expect(iommu_completion_wait(k, iommu)).toBe(0);
    expect(iommu.mmio.executed.map((c) => c.command.op)).toEqual(['INVALIDATE_DEVTAB_ENTRY', 'COMPLETION_WAIT']);
    expect(k.clockNs).toBe(49_000); // 50 semaphore polls, a udelay(1) after each but the last
    expect(k.mem.read64(virt_to_phys(iommu.cmd_sem))).toBe(1n);
    expect(k.log.lines).toEqual([]);
  });

  it('sends no completion wait when nothing needs syncing', () => {
    const { k, iommu } = bootOne();
    expect(iommu_completion_wait(k, iommu)).toBe(0);
    expect(iommu.mmio.executed).toEqual([]);
  });

  it('halts on a command with a reserved bit set and logs ILLEGAL_COMMAND_ERROR with its address', () => {
    const { k, iommu } = bootOne();
    const bad: IommuCmd = build_inv_dte(3);
    bad[0] |= 0x1_0000; // a reserved bit of INVALIDATE_DEVTAB_ENTRY
    expect(iommu_queue_command(k, iommu, bad)).toBe(0);
    expect(iommu_queue_command(k, iommu, build_inv_dte(4))).toBe(0);
    expect(iommu.mmio.executed).toEqual([]);
    const cmdPa = virt_to_phys(iommu.cmd_buf);
    expect(iommu.mmio.events.map((e) => e.event)).toEqual([{ code: 'ILLEGAL_COMMAND_ERROR', commandPa: cmdPa }]);
    const log = virt_to_phys(iommu.evt_buf);
    expect([k.mem.read32(log + 4n) >>> 28, k.mem.read32(log + 8n), k.mem.read32(log + 12n)]).toEqual([
      0x5,
      Number(cmdPa & 0xffff_ffffn),
      0,
    ]);
    expect(iommu.mmio.readl(R.MMIO_CMD_HEAD_OFFSET)).toBe(0); // the head stays on the bad command
    expect(iommu.mmio.readq(R.MMIO_STATUS_OFFSET) & R.STATUS_CMD_BUF_RUN).toBe(0n);
  });

  it('the doorbell failure point hangs the processor, so the next completion wait times out', () => {
    const { k, iommu } = bootOne({ kind: 'immediate' }, [
      { site: '**/hw_cmd_processor_hang', schedule: { mode: 'nth', n: 2 } },
    ]);
    expect(iommu_queue_command(k, iommu, build_inv_iommu_pages(0n, 0x1000n, 1, 0, false))).toBe(0);
    expect(iommu_completion_wait(k, iommu)).toBe(-Errno.EIO);
    expect(iommu.mmio.executed.map((c) => c.command.op)).toEqual(['INVALIDATE_IOMMU_PAGES']);
    expect(k.faults.fired.map((f) => f.point.site)).toEqual(['iommu_completion_wait/hw_cmd_processor_hang']);
  });
});

describe('MMIO register masks', () => {
  it('keeps read-only bits, honours write-1-to-clear, and stores only the pointer bits of head/tail', () => {
    const { iommu } = bootOne();
    const hw = iommu.mmio;
    hw.regs.hwOr(R.MMIO_STATUS_OFFSET, R.STATUS_COM_WAIT_INT | R.STATUS_EVT_INT);
    hw.writeq(R.MMIO_STATUS_OFFSET, R.STATUS_COM_WAIT_INT | R.STATUS_CMD_BUF_RUN | R.STATUS_EVT_RUN);
    expect(hw.readq(R.MMIO_STATUS_OFFSET)).toBe(R.STATUS_EVT_INT | R.STATUS_CMD_BUF_RUN | R.STATUS_EVT_RUN);
    hw.writeq(R.MMIO_EXT_FEATURES, 0xffffn);
    expect(hw.readq(R.MMIO_EXT_FEATURES)).toBe(0n);
    hw.regs.write(R.MMIO_CMD_HEAD_OFFSET, 0xffff_ffffn);
    expect(hw.regs.read(R.MMIO_CMD_HEAD_OFFSET)).toBe(0x7fff0n);
  });
});

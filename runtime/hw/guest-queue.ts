import type { PhysMemory } from '../mem/phys-memory.js';
import { decodeCommand, type Command, type CommandWords } from './commands.js';
import type { HwEvent } from './events.js';
import type { Dropped } from './iotlb.js';
import {
  VF_CMD_HEAD,
  VF_CMD_TAIL,
  VF_EVT_HEAD,
  VF_EVT_TAIL,
  VF_GUEST_STRIDE,
  VF_STATUS,
  VF_STATUS_COM_WAIT_INT,
  type VfRegisters,
} from './viommu/vf.js';
import {
  COMMAND_CONTROL_CMDBUF_EN,
  DEVID_MAP_BASE,
  DEVID_MAP_ENTRY_SIZE,
  DOMID_MAP_BASE,
  DOMID_MAP_ENTRY_SIZE,
  GUEST_COMMAND_CONTROL,
  GUEST_EVENT_CONTROL,
  GUEST_MISC_CONTROL,
  GUEST_PPR_CONTROL,
  VFCTRL_GUEST_STRIDE,
  type VfCntlRegisters,
} from './viommu/vfcntl.js';
import { VIOMMU_SRC_COMMAND_BUFFER, type GuestQueueCause } from './viommu-events.js';
import type { Access, TranslateResult } from './iommu.js';

/**
 * The vIOMMU's guest command buffers: when a guest writes its command tail in its VF page, the hardware reads
 * the guest's commands out of guest memory and executes them against the host IOMMU state. No public text
 * describes this hardware (fact sheet §4.8); what follows is the sheet's inference, and every choice is
 * listed in runtime/hw/viommu/ASSUMPTIONS.md:
 * - the buffer is given by GPA in VF_CNTL 0x20 (base 51:12, length code 3:0, CmdBufEn bit 8) and translated
 *   through the DTE VF_CNTL 0x10 names (the translate devid: trans_devid.c's comment);
 * - guest DomIDs and DevIDs are replaced by host ones read from the guest's DomID and DevID tables in the
 *   IOMMU's private space, through the IOMMU's own DTE (viommu_clear_mapping's comment, the AMD patent);
 * - processing needs control bits 52 (VCmdEn) and 53 (vIOMMUEn) and the guest's CmdBufEn.
 */

/** What RESET_VMMIO clears (machine option `reset_vmmio`). */
export type ResetVmmioScope = 'guest_mmio' | 'vf_page' | 'none';
/** The event type a guest command the hardware cannot process posts (machine option `guest_error_event`). */
export type GuestErrorEvent = 'viommu_hw_err' | 'guest_event_fault';

export interface GuestQueueConfig {
  readonly resetVmmio: ResetVmmioScope;
  readonly errorEvent: GuestErrorEvent;
}

/** A guest-issued command as the hardware received it, before the IDs were replaced. */
export interface GuestIssue {
  readonly gid: number;
  /** GPA of the command in the guest's buffer. */
  readonly gpa: bigint;
  readonly issued: Command;
}

/** What the guest queues need of the IOMMU they belong to. */
export interface GuestQueueHost {
  readonly mem: PhysMemory;
  readonly vf: VfRegisters;
  readonly vfcntl: VfCntlRegisters;
  readonly selfDevid: number;
  /** Control bits VCmdEn and vIOMMUEn are set and the command processor works. */
  running(): boolean;
  deviceAccess(deviceId: number, iova: bigint, access: Access): TranslateResult;
  /** Executes a command in its host form; what it dropped from the IOTLB. */
  execute(c: Command): Dropped;
  record(offset: number, raw: CommandWords, command: Command, dropped: Dropped, guest: GuestIssue): void;
  post(e: HwEvent): void;
}

/** Commands a guest may not issue: they act on the host as a whole. */
const HOST_ONLY: ReadonlySet<Command['op']> = new Set(['RESET_VMMIO', 'INVALIDATE_IOMMU_ALL']);

const GPA_BASE_MASK = 0x000f_ffff_ffff_f000n;

type Mapped =
  | { readonly ok: true; readonly command: Command }
  | { readonly ok: false; readonly cause: GuestQueueCause; readonly guestId?: number; readonly address?: bigint };

export class GuestQueues {
  /** Guests whose command processing stopped on an error; RESET_VMMIO restarts them. */
  readonly halted = new Set<number>();

  constructor(
    private readonly host: GuestQueueHost,
    private readonly config: GuestQueueConfig,
  ) {}

  /**
   * The guest wrote its command tail, or its VMM its command control: process from head to tail if the queue
   * runs (a command processor works whenever it is enabled and head differs from tail).
   */
  doorbell(gid: number): void {
    const h = this.host;
    if (!h.running() || this.halted.has(gid)) return;
    const block = gid * VFCTRL_GUEST_STRIDE;
    const control = h.vfcntl.read(block + GUEST_COMMAND_CONTROL);
    if (!(control & COMMAND_CONTROL_CMDBUF_EN)) return;
    const base = control & GPA_BASE_MASK;
    const size = 16 << Number(control & 0xfn);
    const transDevid = Number((h.vfcntl.read(block + GUEST_MISC_CONTROL) >> 16n) & 0xffffn);
    const page = gid * VF_GUEST_STRIDE;
    let head = Number(h.vf.read(page + VF_CMD_HEAD)) % size;
    const tail = Number(h.vf.read(page + VF_CMD_TAIL)) % size;
    while (head !== tail) {
      const gpa = base + BigInt(head);
      const at = h.deviceAccess(transDevid, gpa, 'read');
      // A translation to an address no memory backs reads nothing the model can decode: the fetch fails.
      if (!at.ok || !h.mem.contains(at.pa)) return this.stop(gid, { ok: false, cause: 'fetch' }, gpa);
      const raw: CommandWords = [
        h.mem.read32(at.pa),
        h.mem.read32(at.pa + 4n),
        h.mem.read32(at.pa + 8n),
        h.mem.read32(at.pa + 12n),
      ];
      const decoded = decodeCommand(raw);
      if (!decoded.ok || HOST_ONLY.has(decoded.command.op)) {
        this.halted.add(gid);
        h.post({ code: 'ILLEGAL_COMMAND_ERROR', commandPa: at.pa, gid });
        return;
      }
      const mapped = this.toHost(gid, transDevid, decoded.command);
      if (!mapped.ok) return this.stop(gid, mapped, mapped.address ?? gpa);
      const dropped = this.run(gid, mapped.command);
      h.record(head, raw, mapped.command, dropped, { gid, gpa, issued: decoded.command });
      head = (head + 16) % size;
      h.vf.hwSet(page + VF_CMD_HEAD, BigInt(head));
    }
  }

  /** RESET_VMMIO of guest `gid`: `vcmd` resets its command buffer state, `all` all of its virtualised MMIO. */
  reset(gid: number, all: boolean, vcmd: boolean): void {
    if (this.config.resetVmmio === 'none' || !(all || vcmd)) return;
    this.halted.delete(gid);
    const vfRegs = all ? [VF_CMD_HEAD, VF_CMD_TAIL, VF_EVT_HEAD, VF_EVT_TAIL, VF_STATUS] : [VF_CMD_HEAD, VF_CMD_TAIL];
    this.host.vf.reset(gid, vfRegs);
    if (this.config.resetVmmio === 'guest_mmio')
      this.host.vfcntl.reset(
        gid,
        all ? [GUEST_COMMAND_CONTROL, GUEST_EVENT_CONTROL, GUEST_PPR_CONTROL] : [GUEST_COMMAND_CONTROL],
      );
  }

  private stop(gid: number, why: Extract<Mapped, { ok: false }>, address: bigint): void {
    this.halted.add(gid);
    this.host.post({
      code: this.config.errorEvent === 'viommu_hw_err' ? 'VIOMMU_HW_ERR' : 'GUEST_EVENT_FAULT',
      gid,
      address,
      src: VIOMMU_SRC_COMMAND_BUFFER,
      flags: 0,
      vflags: 0,
      cause: why.cause,
      ...(why.guestId === undefined ? {} : { guestId: why.guestId }),
    });
  }

  /** A completion wait stores to guest memory and raises the guest's own ComWaitInt; the rest run as host commands. */
  private run(gid: number, c: Command): Dropped {
    if (c.op !== 'COMPLETION_WAIT') return this.host.execute(c);
    if (c.store) this.host.mem.write64(c.semaphorePa, c.data);
    if (c.interrupt) {
      const status = gid * VF_GUEST_STRIDE + VF_STATUS;
      this.host.vf.hwSet(status, this.host.vf.read(status) | VF_STATUS_COM_WAIT_INT);
    }
    return { iotlb: [], pdes: 0 };
  }

  /** The command with the guest's IDs replaced by host ones, and a completion wait's GPA by its host address. */
  private toHost(gid: number, transDevid: number, c: Command): Mapped {
    switch (c.op) {
      case 'INVALIDATE_IOMMU_PAGES': {
        const h = this.lookup(gid, 'domid', c.domainId);
        return h === undefined
          ? { ok: false, cause: 'domid', guestId: c.domainId }
          : { ok: true, command: { ...c, domainId: h } };
      }
      case 'INVALIDATE_DEVTAB_ENTRY':
      case 'INVALIDATE_IOTLB_PAGES':
      case 'INVALIDATE_INTERRUPT_TABLE':
      case 'COMPLETE_PPR_REQUEST': {
        const h = this.lookup(gid, 'devid', c.deviceId);
        return h === undefined
          ? { ok: false, cause: 'devid', guestId: c.deviceId }
          : { ok: true, command: { ...c, deviceId: h } };
      }
      case 'COMPLETION_WAIT': {
        if (!c.store) return { ok: true, command: c };
        const t = this.host.deviceAccess(transDevid, c.semaphorePa, 'write');
        return t.ok && this.host.mem.contains(t.pa)
          ? { ok: true, command: { ...c, semaphorePa: t.pa } }
          : { ok: false, cause: 'store', address: c.semaphorePa };
      }
      case 'INVALIDATE_IOMMU_ALL':
      case 'RESET_VMMIO':
        return { ok: true, command: c };
    }
  }

  /**
   * The host ID a guest ID maps to, read from the guest's table in the private space through the IOMMU's own
   * DTE; undefined when the entry is not valid or the table's IPA does not translate (an IO_PAGE_FAULT of the
   * IOMMU's own devid is then logged by the walk).
   */
  private lookup(gid: number, table: 'devid' | 'domid', guestId: number): number | undefined {
    const ipa =
      table === 'devid'
        ? DEVID_MAP_BASE + BigInt(gid) * DEVID_MAP_ENTRY_SIZE + BigInt(guestId) * 16n
        : DOMID_MAP_BASE + BigInt(gid) * DOMID_MAP_ENTRY_SIZE + BigInt(guestId) * 8n;
    const t = this.host.deviceAccess(this.host.selfDevid, ipa, 'read');
    if (!t.ok || !this.host.mem.contains(t.pa)) return undefined;
    const entry = this.host.mem.read64(t.pa);
    return entry & 1n ? Number((entry >> 24n) & 0xffffn) : undefined;
  }
}

import { PAGE_SIZE, type PhysMemory } from '../mem/phys-memory.js';
import { hwWalk, hwWalkFrom, isWalkFault, type WalkFault, type WalkResult } from './walk.js';
import { VfCntlRegisters, type VfCntlHooks } from './viommu/vfcntl.js';
import { VF_CMD_TAIL, VfRegisters, vfRegisterAt } from './viommu/vf.js';
import { GuestQueues, type GuestIssue, type GuestQueueConfig, type GuestQueueHost } from './guest-queue.js';
import { decodeCommand, type Command, type CommandWords, type DecodeResult } from './commands.js';
import { decodeDte, DTE_SIZE, type DeviceTableEntry } from './dte.js';
import { encodeEvent, EVENT_FLAG_PE, EVENT_FLAG_PR, EVENT_FLAG_RW, type HwEvent } from './events.js';
import { Iotlb, NOTHING_DROPPED, type Dropped, type IotlbEntry } from './iotlb.js';
import type { Meter } from '../base/budget.js';
import type { FaultRegistry } from '../fault/inject.js';
import * as R from './regs.js';
import { CommandLog, type ExecutedCommand } from './command-log.js';
import { lower_32_bits, upper_32_bits } from '../base/bits.js';

/** When the command processor consumes the ring: part of the machine, so timeouts come from it. */
export type ProcessorBehaviour =
  | { readonly kind: 'immediate' }
  /** Catches up only after the driver has polled this many times since the doorbell. */
  | { readonly kind: 'lag'; readonly polls: number }
  /** Executes `after` commands in all (0 = none), then never again. */
  | { readonly kind: 'stalled'; readonly after: number };

export type { ExecutedCommand } from './command-log.js';

export interface PostedEvent {
  readonly seq: number;
  readonly step: number;
  readonly event: HwEvent;
  /** False when the event log was disabled or full: the hardware dropped it. */
  readonly logged: boolean;
}

/** A translation served from the IOTLB that memory no longer backs: a DMA use-after-free in real hardware. */
export interface StaleHit {
  readonly step: number;
  readonly domainId: number;
  readonly iova: bigint;
  readonly cachedPa: bigint;
  /** What a walk of memory gives now. */
  readonly current: { readonly pa: bigint } | { readonly fault: string };
  /** The cached target lies in memory the kernel has freed. */
  readonly targetFreed: boolean;
}

export type Access = 'read' | 'write';

export type TranslateResult =
  | { readonly ok: true; readonly pa: bigint; readonly fromIotlb: boolean; readonly stale: boolean }
  | { readonly ok: false; readonly fault: string };

/** What the hardware needs to know about the world outside it. */
export interface HwHooks {
  step(): number;
  /** The machine's shared timeline; without it the IOMMU counts on its own. */
  tick?(): number;
  /** The timeline's position without moving it (see Kernel.epoch). */
  epoch?(): number;
  /** Whether `pa` lies in memory that was freed and not reallocated (the stale-hit diagnosis). */
  isFreed(pa: bigint): boolean;
  /** The spec's budget: commands this IOMMU may execute, events it may post. */
  readonly meter?: Meter;
  /** The machine's failure points: the doorbell passes `hw_cmd_processor_hang`. */
  readonly faults?: FaultRegistry;
}

/** Addressing of the private-space walk, as the vIOMMU uses it: a domain, its root and mode. */
export interface TranslationContext {
  readonly domainId: number;
  readonly rootPa: bigint;
  readonly mode: number;
  readonly deviceId: number;
  /** Permissions the DTE grants (IR/IW); the private space has both. */
  readonly read: boolean;
  readonly write: boolean;
}

/**
 * One AMD IOMMU: its registers, the command processor that drains the ring in simulated memory, the event
 * log it writes there, a device-table-entry cache, the IOTLB, and translation for device and vIOMMU accesses.
 */
/** What a vIOMMU-capable part adds to the IOMMU: assumptions a spec can choose (viommu/ASSUMPTIONS.md). */
export interface VirtualizationConfig {
  /** Control bits this part does not implement (they read back 0). */
  readonly controlFixedZero: bigint;
  /** The IOMMU's own requester ID: the DTE its private-space accesses go through. */
  readonly selfDevid: number;
  /** Whether VF_CNTL map writes store entries into the guest tables in the private space. */
  readonly storeMaps: boolean;
  /** What RESET_VMMIO resets and which event a failed guest command posts. */
  readonly guests: GuestQueueConfig;
}

const NO_VIRTUALIZATION: VirtualizationConfig = {
  controlFixedZero: 0n,
  selfDevid: 0,
  storeMaps: true,
  guests: { resetVmmio: 'guest_mmio', errorEvent: 'viommu_hw_err' },
};

/** The last successful re-walk of memory for an IOTLB entry: what freshWalk reuses while its tables are unwritten. */
interface VerifiedWalk {
  readonly rootPa: bigint;
  readonly mode: number;
  epoch: number;
  readonly tables: readonly number[];
  readonly pageIova: bigint;
  readonly pageMask: bigint;
  readonly pagePa: bigint;
  /** The walk's page contains the hit's page, so every IOVA that hits the entry is inside it. */
  readonly coversHit: boolean;
  readonly matchesHit: boolean;
}

/** An IOTLB entry as this IOMMU caches it, with the re-walk that last confirmed it (none yet: undefined). */
interface CachedTranslation extends IotlbEntry {
  /** pa - pageIova: an IOVA of the page translates to iova + toPa. */
  readonly toPa: bigint;
  verified: VerifiedWalk | undefined;
}

/** What a re-walk of memory gives for an IOTLB hit; SAME_AS_HIT: exactly the hit's translation. */
type FreshWalk = { readonly ok: true; readonly pa: bigint } | { readonly ok: false; readonly reason: string };
const SAME_AS_HIT: FreshWalk = { ok: true, pa: -1n };
const low = (lg2: number): bigint => (1n << BigInt(lg2)) - 1n;

/** The address of byte `offset` of page frame `pfn`: one bigint, made from an exact number below 2^53. */
function pageAddress(pfn: number, offset: number): bigint {
  const at = pfn * 4096 + offset;
  return Number.isSafeInteger(at) ? BigInt(at) : (BigInt(pfn) << 12n) | BigInt(offset);
}

export class AmdIommuHw {
  readonly regs: R.MmioRegisters;
  /** The VF_CNTL BAR's registers (vIOMMU parts). */
  readonly vfcntl: VfCntlRegisters;
  /** The VF BAR's registers: one page per guest (vIOMMU parts). */
  readonly vf = new VfRegisters();
  /** The guests' command buffers, processed when a guest writes its tail. */
  readonly guests: GuestQueues;
  /** Events the full event log could not take: the hardware only sets EventOverflow for them. */
  lostEvents = 0;
  private lastPosted: HwEvent | null = null;
  /** The register generation at which postFault last found the event log full (and set EventOverflow). */
  private fullLogAt = -1;
  /** The page the processor last fetched a command from: its storage and a 32-bit view of it. */
  private fetched: { readonly words: BigUint64Array | undefined; readonly halves: Uint32Array } = {
    words: undefined,
    halves: new Uint32Array(0),
  };
  private ipaMemo: {
    readonly pfn: number;
    readonly devid: number;
    epoch: number;
    /** IOTLB generation at the fill: a stale hit is memoised only while the IOTLB is unchanged. */
    readonly iotlbGeneration: number;
    /** The page frame the page translated to (a stale hit: the cached one), or -1 when it faulted. */
    readonly paPfn: number;
    readonly event: Extract<HwEvent, { code: 'IO_PAGE_FAULT' }> | null;
    /** For a stale hit: what a walk of memory gave, as a page frame or a fault, and the hit's domain. */
    readonly stale: {
      readonly domainId: number;
      readonly currentPfn: number;
      /** The walk's fault, shared by every stale hit recorded from this memo (it is read-only). */
      readonly fault: { readonly fault: string };
    } | null;
  } | null = null;
  readonly iotlb = new Iotlb<CachedTranslation>();
  private readonly log = new CommandLog();
  readonly events: PostedEvent[] = [];
  readonly staleHits: StaleHit[] = [];
  /** Domains this IOMMU ever cached a translation for: the IOMMUs a flush must reach. */
  readonly cachedDomains = new Set<number>();
  private readonly dteCache = new Map<number, DeviceTableEntry>();
  private pollsUntilCatchUp = -1;
  private hung = false;
  private halted = false;
  private seq = 0;
  /** Commands the host ring executed (the stalled processor's count; guest commands are not in it). */
  private hostExecuted = 0;

  constructor(
    readonly name: string,
    private readonly mem: PhysMemory,
    private readonly behaviour: ProcessorBehaviour,
    extendedFeatures: bigint,
    private readonly hooks: HwHooks,
    vm: VirtualizationConfig = NO_VIRTUALIZATION,
  ) {
    this.regs = new R.MmioRegisters(extendedFeatures, vm.controlFixedZero);
    this.vfcntl = new VfCntlRegisters(new AmdIommuHw.VfCntlPorts(this, vm.selfDevid), vm.storeMaps);
    this.guests = new GuestQueues(new AmdIommuHw.GuestPorts(this, vm.selfDevid), vm.guests);
  }

  /**
   * What VF_CNTL's map stores and doorbells reach, and what the guest queues reach, in this IOMMU: objects
   * holding it rather than closures over it, so the registers of a forked machine reach the fork
   * (runtime/base/fork.ts). Declared inside the class to call its private parts.
   */
  private static readonly VfCntlPorts = class implements VfCntlHooks {
    constructor(
      private readonly hw: AmdIommuHw,
      private readonly selfDevid: number,
    ) {}
    ipaWrite(pfn: number, offset: number, lo: number, hi: number): boolean {
      return this.hw.ipaWrite(this.selfDevid, pfn, offset, lo, hi);
    }
    commandControlWritten(gid: number): void {
      this.hw.guests.doorbell(gid);
    }
  };

  private static readonly GuestPorts = class implements GuestQueueHost {
    constructor(
      private readonly hw: AmdIommuHw,
      readonly selfDevid: number,
    ) {}
    get mem(): PhysMemory {
      return this.hw.mem;
    }
    get vf(): VfRegisters {
      return this.hw.vf;
    }
    get vfcntl(): VfCntlRegisters {
      return this.hw.vfcntl;
    }
    running(): boolean {
      return this.hw.guestsRunning();
    }
    deviceAccess(deviceId: number, iova: bigint, access: Access): TranslateResult {
      return this.hw.deviceAccess(deviceId, iova, access);
    }
    execute(c: Command): Dropped {
      return this.hw.execute(c);
    }
    record(offset: number, raw: CommandWords, command: Command, dropped: Dropped, guest: GuestIssue): void {
      this.hw.record(offset, raw, command, dropped, guest);
    }
    post(e: HwEvent): void {
      this.hw.post(e);
    }
  };

  // --- MMIO as the driver sees it -----------------------------------------------------------------------

  readl(offset: number): number {
    if (offset === R.MMIO_CMD_HEAD_OFFSET) this.poll();
    return this.regs.read32(offset);
  }

  writel(offset: number, value: number): void {
    this.regs.write32(offset, value);
    this.afterWrite(offset & ~7);
  }

  readq(offset: number): bigint {
    return this.regs.read(offset);
  }

  writeq(offset: number, value: bigint): void {
    this.regs.write(offset, value);
    this.afterWrite(offset);
  }

  /**
   * A 64-bit store to the VF BAR at `offset` (a guest's page is gid × 4 KiB): the guest or its VMM writing
   * its virtualised MMIO. A write of a guest's command tail is that guest's doorbell.
   */
  vfWriteq(offset: number, value: bigint): void {
    if (!this.vf.write(offset, value)) return;
    const { gid, reg } = vfRegisterAt(offset);
    if (reg === VF_CMD_TAIL) this.guests.doorbell(gid);
  }

  vfReadq(offset: number): bigint {
    return this.vf.read(offset);
  }

  /** A vIOMMU part with VCmdEn and vIOMMUEn set and a working command processor executes guest commands. */
  private guestsRunning(): boolean {
    const both = R.CONTROL_VCMD_EN | R.CONTROL_VIOMMU_EN;
    return (
      (this.regs.read(R.MMIO_EXT_FEATURES) & R.EFR_VIOMMU) !== 0n &&
      (this.regs.read(R.MMIO_CONTROL_OFFSET) & both) === both &&
      !this.hung
    );
  }

  /** The driver looked at the hardware's progress (a head read or a semaphore read in a busy loop). */
  poll(): void {
    if (this.pollsUntilCatchUp > 0 && --this.pollsUntilCatchUp === 0) {
      this.pollsUntilCatchUp = -1;
      this.drain();
    }
  }

  /**
   * True when polling can change nothing until software writes the doorbell again: the processor is hung,
   * halted, stopped by its stall limit, or has nothing pending and no catch-up scheduled. Busy-waits use it
   * to skip iterations that would all do the same nothing (the simulated clock still advances by them).
   */
  idle(): boolean {
    if (this.pollsUntilCatchUp > 0) return false;
    if (!this.running()) return true;
    if (this.behaviour.kind === 'stalled' && this.hostExecuted >= this.behaviour.after) return true;
    return this.regs.read32(R.MMIO_CMD_HEAD_OFFSET) === this.regs.read32(R.MMIO_CMD_TAIL_OFFSET);
  }

  /** A failure of the machine: from now on the command processor executes nothing. */
  hang(): void {
    this.hung = true;
  }

  private nextSeq(): number {
    return this.hooks.tick ? this.hooks.tick() : ++this.seq;
  }

  private afterWrite(offset: number): void {
    if (offset === R.MMIO_CONTROL_OFFSET) {
      const run = (this.regs.read(R.MMIO_CONTROL_OFFSET) & R.CONTROL_CMDBUF_EN) !== 0n;
      if (run) this.regs.hwOr(R.MMIO_STATUS_OFFSET, R.STATUS_CMD_BUF_RUN);
      else this.regs.hwClear(R.MMIO_STATUS_OFFSET, R.STATUS_CMD_BUF_RUN);
      if ((this.regs.read(R.MMIO_CONTROL_OFFSET) & R.CONTROL_EVT_LOG_EN) !== 0n)
        this.regs.hwOr(R.MMIO_STATUS_OFFSET, R.STATUS_EVT_RUN);
    }
    if (offset === R.MMIO_CMD_TAIL_OFFSET) {
      // A planned hardware failure: the command processor stops as the doorbell rings, for good.
      if (this.hooks.faults?.pass('hw_cmd_processor_hang')) this.hang();
      this.doorbell();
    }
  }

  private doorbell(): void {
    switch (this.behaviour.kind) {
      case 'immediate':
        this.drain();
        break;
      case 'lag':
        if (this.pollsUntilCatchUp < 0) this.pollsUntilCatchUp = this.behaviour.polls;
        if (this.pollsUntilCatchUp === 0) this.drain();
        break;
      case 'stalled':
        this.drain();
        break;
    }
  }

  // --- command processor --------------------------------------------------------------------------------

  private ringBytes(): number {
    // ComLen, bits 59:56: bits 27:24 of the high half.
    const len = (this.regs.read32(R.MMIO_CMD_BUF_OFFSET + 4) >>> 24) & 0xf;
    return 16 << len;
  }

  /** The ring as the processor sees it: head and tail byte offsets and the commands between them, unexecuted. */
  ring(): { readonly head: number; readonly tail: number; readonly queued: readonly CommandWords[] } {
    const base = this.regs.read(R.MMIO_CMD_BUF_OFFSET) & 0x000f_ffff_ffff_f000n;
    const size = this.ringBytes();
    const head = Number(this.regs.read(R.MMIO_CMD_HEAD_OFFSET));
    const tail = Number(this.regs.read(R.MMIO_CMD_TAIL_OFFSET));
    const queued: CommandWords[] = [];
    if (base === 0n) return { head, tail, queued };
    for (let at = head; at !== tail; at = (at + 16) % size) {
      const pa = base + BigInt(at);
      queued.push([this.mem.read32(pa), this.mem.read32(pa + 4n), this.mem.read32(pa + 8n), this.mem.read32(pa + 12n)]);
    }
    return { head, tail, queued };
  }

  private running(): boolean {
    return this.regs.test(R.MMIO_STATUS_OFFSET, R.STATUS_CMD_BUF_RUN) && !this.halted && !this.hung;
  }

  private drain(): void {
    // ComBase, bits 51:12: the low half's bits 31:12 and the high half's bits 19:0, as a page frame.
    const basePfn =
      (this.regs.read32(R.MMIO_CMD_BUF_OFFSET + 4) & 0xf_ffff) * 0x10_0000 +
      (this.regs.read32(R.MMIO_CMD_BUF_OFFSET) >>> 12);
    const size = this.ringBytes();
    let head = this.regs.read32(R.MMIO_CMD_HEAD_OFFSET);
    const tail = this.regs.read32(R.MMIO_CMD_TAIL_OFFSET);
    while (head !== tail && this.running()) {
      if (this.behaviour.kind === 'stalled' && this.hostExecuted >= this.behaviour.after) return;
      const raw = this.fetchCommand(basePfn + (head >>> 12), head & 0xfff);
      const decoded = this.legal(decodeCommand(raw));
      if (!decoded.ok) {
        // The head stays on the illegal command and the processor stops until software restarts it.
        this.halted = true;
        this.regs.hwClear(R.MMIO_STATUS_OFFSET, R.STATUS_CMD_BUF_RUN);
        this.post({ code: 'ILLEGAL_COMMAND_ERROR', commandPa: pageAddress(basePfn, head) });
        return;
      }
      const dropped = this.execute(decoded.command);
      this.record(head, raw, decoded.command, dropped);
      this.hostExecuted++;
      head = (head + 16) % size;
      this.regs.hwSet32(R.MMIO_CMD_HEAD_OFFSET, head);
    }
  }

  /**
   * The 16-byte command at byte `offset` (16-byte aligned) of page frame `pfn`, as the processor fetches it.
   * The ring page is read through a 32-bit view of its storage, made again only when that storage changes.
   */
  private fetchCommand(pfn: number, offset: number): CommandWords {
    const words = this.mem.peekPage(pfn);
    if (words === undefined) {
      // Never written, or outside memory: read32 gives its zeros or its error.
      const pa = pageAddress(pfn, offset);
      return [this.mem.read32(pa), this.mem.read32(pa + 4n), this.mem.read32(pa + 8n), this.mem.read32(pa + 12n)];
    }
    if (words !== this.fetched.words)
      this.fetched = { words, halves: new Uint32Array(words.buffer, words.byteOffset, words.length * 2) };
    const halves = this.fetched.halves;
    const i = offset >>> 2;
    return [halves[i]!, halves[i + 1]!, halves[i + 2]!, halves[i + 3]!];
  }

  private record(offset: number, raw: CommandWords, command: Command, dropped: Dropped, guest?: GuestIssue): void {
    this.hooks.meter?.check('commands', this.log.length + 1);
    this.log.push(
      this.nextSeq(),
      this.hooks.step(),
      offset,
      raw,
      dropped,
      // A guest's words are its own, the command its host form: kept. A host command is its words.
      guest ? command : undefined,
      command.op === 'INVALIDATE_DEVTAB_ENTRY' ? this.dteInMemory(command.deviceId) : undefined,
      guest,
    );
  }

  /** The commands executed so far, host and guest, in order. */
  get executed(): readonly ExecutedCommand[] {
    return this.log.entries();
  }

  /** A command this part does not implement is as illegal as an unknown opcode. */
  private legal(decoded: DecodeResult): DecodeResult {
    // RESET_VMMIO exists only on vIOMMU-capable parts (EFR bit 55); see runtime/hw/viommu/ASSUMPTIONS.md.
    if (decoded.ok && decoded.command.op === 'RESET_VMMIO' && !(this.regs.read(R.MMIO_EXT_FEATURES) & R.EFR_VIOMMU))
      return { ok: false, reason: 'RESET_VMMIO without the vIOMMU feature' };
    return decoded;
  }

  private execute(c: Command): Dropped {
    switch (c.op) {
      case 'COMPLETION_WAIT':
        if (c.store) this.store64(c.semaphorePa, c.data);
        if (c.interrupt) this.regs.hwOr(R.MMIO_STATUS_OFFSET, R.STATUS_COM_WAIT_INT);
        return NOTHING_DROPPED;
      case 'INVALIDATE_DEVTAB_ENTRY':
        this.dteCache.delete(c.deviceId);
        return NOTHING_DROPPED;
      case 'INVALIDATE_IOMMU_PAGES':
        // Guest (GN=1) invalidations address PASID tables, which host v1 translation does not use.
        if (c.gn) return NOTHING_DROPPED;
        return this.iotlb.invalidate(c.domainId, c.range.start, c.range.size, c.pde);
      case 'INVALIDATE_IOMMU_ALL':
        this.dteCache.clear();
        return this.iotlb.invalidateAll();
      case 'INVALIDATE_IOTLB_PAGES':
      case 'INVALIDATE_INTERRUPT_TABLE':
      case 'COMPLETE_PPR_REQUEST':
        // Device-side ATS caches and interrupt remapping are not modelled; the command is recorded.
        return NOTHING_DROPPED;
      case 'RESET_VMMIO':
        // What bits 28 (all) and 31 (vcmd) reset is an assumption (viommu/ASSUMPTIONS.md, `reset_vmmio`).
        this.guests.reset(c.gid, c.all, c.vcmd);
        return NOTHING_DROPPED;
    }
  }

  /**
   * The completion-wait store: write64 through the page frame and 32-bit halves, with no bigint operation.
   * The semaphore address is bits 51:3 of the command, so 8-byte aligned and an exact number.
   */
  private store64(pa: bigint, value: bigint): void {
    const at = Number(pa);
    this.mem.write64Halves(Math.floor(at / PAGE_SIZE), at % PAGE_SIZE, lower_32_bits(value), upper_32_bits(value));
  }

  /**
   * A store by the IOMMU into its own private address space, translated through its own DTE. A map-port
   * loop makes 65536 stores into a few pages: while nothing else happened on the machine (the epoch has not
   * moved but for this IOMMU's own fault events), a store to the page of the last one has the same outcome,
   * so it is applied without walking again. A stale hit is memoised too, while the IOTLB is also unchanged:
   * the walk of memory gives the same page, and each store still records its own stale hit, as a walk would.
   */
  private ipaWrite(selfDevid: number, pfn: number, offset: number, lo: number, hi: number): boolean {
    const memo = this.ipaMemo;
    const hooks = this.hooks;
    if (hooks.epoch && memo && memo.pfn === pfn && memo.devid === selfDevid && memo.epoch === hooks.epoch()) {
      if (memo.stale === null && memo.paPfn >= 0) {
        this.mem.write64Halves(memo.paPfn, offset, lo, hi);
        return true;
      }
      if (memo.stale !== null) {
        if (memo.iotlbGeneration === this.iotlb.generation) {
          const { domainId, currentPfn, fault } = memo.stale;
          const pa = pageAddress(memo.paPfn, offset);
          const targetFreed = this.hooks.isFreed(pa);
          // Same page, same walk: stale by the walk for every offset, by freed memory only where freed.
          if (currentPfn !== memo.paPfn || targetFreed) {
            this.staleHits.push({
              step: this.hooks.step(),
              domainId,
              iova: pageAddress(pfn, offset),
              cachedPa: pa,
              current: currentPfn < 0 ? fault : { pa: pageAddress(currentPfn, offset) },
              targetFreed,
            });
          }
          this.mem.write64Halves(memo.paPfn, offset, lo, hi);
          return true;
        }
      } else {
        if (memo.event) this.postFault(memo.event, pfn, offset);
        memo.epoch = hooks.epoch();
        return false;
      }
    }
    this.lastPosted = null;
    const ipa = pageAddress(pfn, offset);
    const t = this.deviceAccess(selfDevid, ipa, 'write');
    const epoch = hooks.epoch?.();
    this.ipaMemo = null;
    if (t.ok) this.mem.write64(t.pa, (BigInt(hi) << 32n) | BigInt(lo));
    if (epoch === undefined) return t.ok;
    if (t.ok && t.stale) {
      const hit = this.staleHits[this.staleHits.length - 1]!;
      this.ipaMemo = {
        pfn,
        devid: selfDevid,
        epoch,
        iotlbGeneration: this.iotlb.generation,
        paPfn: Number(t.pa >> 12n),
        event: null,
        stale: {
          domainId: hit.domainId,
          currentPfn: 'pa' in hit.current ? Number(hit.current.pa >> 12n) : -1,
          fault: 'fault' in hit.current ? hit.current : { fault: '' },
        },
      };
      return true;
    }
    const event = this.lastPostedEvent();
    if (!t.ok && event && event.code !== 'IO_PAGE_FAULT') return false;
    this.ipaMemo = {
      pfn,
      devid: selfDevid,
      epoch,
      iotlbGeneration: this.iotlb.generation,
      paPfn: t.ok ? Number(t.pa >> 12n) : -1,
      event: !t.ok && event?.code === 'IO_PAGE_FAULT' ? event : null,
      stale: null,
    };
    return t.ok;
  }

  /**
   * Posts `event` again at another IPA of its page. With the event log enabled and full, the post changes
   * nothing but the overflow bit and the lost count, so no event is built for it.
   */
  private postFault(event: Extract<HwEvent, { code: 'IO_PAGE_FAULT' }>, pfn: number, offset: number): void {
    // No register moved since the log was last found full and EventOverflow set: it still is, and still set.
    if (this.regs.generation === this.fullLogAt) {
      this.lostEvents++;
      return;
    }
    if (this.eventLogFull()) {
      this.regs.hwOr(R.MMIO_STATUS_OFFSET, R.STATUS_EVT_OVERFLOW);
      this.lostEvents++;
      this.fullLogAt = this.regs.generation;
      return;
    }
    this.post({ ...event, address: pageAddress(pfn, offset) });
  }

  /** Whether the event log is enabled and has no room for another event (what post() drops). */
  private eventLogFull(): boolean {
    if ((this.regs.read(R.MMIO_CONTROL_OFFSET) & R.CONTROL_EVT_LOG_EN) === 0n) return false;
    const size = 16 << Number((this.regs.read(R.MMIO_EVT_BUF_OFFSET) >> 56n) & 0xfn);
    const tail = Number(this.regs.read(R.MMIO_EVT_TAIL_OFFSET));
    return (tail + 16) % size === Number(this.regs.read(R.MMIO_EVT_HEAD_OFFSET));
  }

  // --- event log --------------------------------------------------------------------------------------

  /** The event the last post() made (read through a call: TypeScript would narrow the field to null). */
  private lastPostedEvent(): HwEvent | null {
    return this.lastPosted;
  }

  private post(event: HwEvent): void {
    this.lastPosted = event;
    const control = this.regs.read(R.MMIO_CONTROL_OFFSET);
    let logged = false;
    if ((control & R.CONTROL_EVT_LOG_EN) !== 0n) {
      const baseReg = this.regs.read(R.MMIO_EVT_BUF_OFFSET);
      const base = baseReg & 0x000f_ffff_ffff_f000n;
      const size = 16 << Number((baseReg >> 56n) & 0xfn);
      const tail = Number(this.regs.read(R.MMIO_EVT_TAIL_OFFSET));
      const head = Number(this.regs.read(R.MMIO_EVT_HEAD_OFFSET));
      const next = (tail + 16) % size;
      if (next === head) {
        this.regs.hwOr(R.MMIO_STATUS_OFFSET, R.STATUS_EVT_OVERFLOW);
        this.lostEvents++;
        return;
      } else {
        encodeEvent(event).forEach((w, i) => this.mem.write32(base + BigInt(tail + 4 * i), w));
        this.regs.hwSet(R.MMIO_EVT_TAIL_OFFSET, BigInt(next));
        this.regs.hwOr(R.MMIO_STATUS_OFFSET, R.STATUS_EVT_INT);
        logged = true;
      }
    }
    this.events.push({ seq: this.nextSeq(), step: this.hooks.step(), event, logged });
    this.hooks.meter?.check('events', this.events.length);
  }

  // --- translation ------------------------------------------------------------------------------------

  /** The DTE for `deviceId` as the device table in memory holds it now (the cache untouched). */
  private dteInMemory(deviceId: number): DeviceTableEntry {
    const base = this.regs.read(R.MMIO_DEV_TABLE_OFFSET) & 0x000f_ffff_ffff_f000n;
    const at = base + BigInt(deviceId) * DTE_SIZE;
    return decodeDte(this.mem.read64(at), this.mem.read64(at + 8n));
  }

  /** The DTE for `deviceId`, from the DTE cache or the device table in memory. */
  dte(deviceId: number): DeviceTableEntry {
    const cached = this.dteCache.get(deviceId);
    if (cached) return cached;
    const base = this.regs.read(R.MMIO_DEV_TABLE_OFFSET) & 0x000f_ffff_ffff_f000n;
    const at = base + BigInt(deviceId) * DTE_SIZE;
    const entry = decodeDte(this.mem.read64(at), this.mem.read64(at + 8n));
    this.dteCache.set(deviceId, entry);
    return entry;
  }

  /**
   * Where `iova` of device `deviceId` leads by the device table and page table in memory now, touching no
   * cache and posting no event: how a spec's guest finds the host address of its own memory (the translate
   * DTE holds the nest parent, which mirrors the guest's physical memory).
   */
  peekTranslate(deviceId: number, iova: bigint): TranslateResult {
    const base = this.regs.read(R.MMIO_DEV_TABLE_OFFSET) & 0x000f_ffff_ffff_f000n;
    const at = base + BigInt(deviceId) * DTE_SIZE;
    const dte = decodeDte(this.mem.read64(at), this.mem.read64(at + 8n));
    if (!dte.valid || (dte.translationValid && dte.mode === 0))
      return { ok: true, pa: iova, fromIotlb: false, stale: false };
    if (!dte.translationValid) return { ok: false, fault: 'translation_not_valid' };
    if (dte.mode === 7) return { ok: false, fault: 'illegal_dte' };
    const walk = hwWalk(this.mem, dte.rootPa, dte.mode, iova);
    if (isWalkFault(walk)) return { ok: false, fault: walk.reason };
    return { ok: true, pa: walk.pa, fromIotlb: false, stale: false };
  }

  /** A DMA by a PCI function behind this IOMMU: the DTE decides the domain and the table. */
  deviceAccess(deviceId: number, iova: bigint, access: Access): TranslateResult {
    const dte = this.dte(deviceId);
    // V=0: the IOMMU does not translate for this device; the access passes untranslated.
    if (!dte.valid) return { ok: true, pa: iova, fromIotlb: false, stale: false };
    // V=1, TV=0: no valid page-table root, so a request that needs a walk is terminated, not passed through.
    // This is the blocked state Linux relies on: amd_iommu_make_clear_dte writes V only, and clear_dte_entry
    // is "Clear DMA-remap related flags to block all DMA" (AMDESE iommu.c @ 06c926bd). QEMU's amd_iommu.c
    // reads the specification the same way ("A DTE with V=1, TV=0 does not have a valid Page Table Root
    // Pointer ... terminates the walk"). No event is logged, as QEMU logs none.
    if (!dte.translationValid) return { ok: false, fault: 'translation_not_valid' };
    // Mode 0 is translation disabled with access controlled by IR and IW.
    if (dte.mode === 0) {
      if (access === 'read' ? dte.ir : dte.iw) return { ok: true, pa: iova, fromIotlb: false, stale: false };
      this.post({
        code: 'IO_PAGE_FAULT',
        deviceId,
        domainId: dte.domainId,
        address: iova,
        flags: EVENT_FLAG_PE | (access === 'write' ? EVENT_FLAG_RW : 0),
      });
      return { ok: false, fault: 'permission' };
    }
    if (dte.mode === 7) {
      this.post({ code: 'ILLEGAL_DEV_TABLE_ENTRY', deviceId, address: iova });
      return { ok: false, fault: 'illegal_dte' };
    }
    return this.translate(
      { domainId: dte.domainId, rootPa: dte.rootPa, mode: dte.mode, deviceId, read: dte.ir, write: dte.iw },
      iova,
      access,
    );
  }

  /**
   * Translates through the IOTLB, then the page-directory cache, then memory. A hit is served even if the
   * table no longer says so; that case is recorded as a stale hit.
   */
  translate(ctx: TranslationContext, iova: bigint, access: Access): TranslateResult {
    const hit = this.iotlb.lookup(ctx.domainId, iova);
    if (hit) {
      const pa = iova + hit.toPa;
      const allowed = access === 'read' ? hit.read && ctx.read : hit.write && ctx.write;
      if (!allowed) return this.fault(ctx, iova, access, 'permission', true);
      const fresh = this.freshWalk(ctx, iova, hit);
      const stale = (fresh !== SAME_AS_HIT && (!fresh.ok || fresh.pa !== pa)) || this.hooks.isFreed(pa);
      if (stale) {
        this.staleHits.push({
          step: this.hooks.step(),
          domainId: ctx.domainId,
          iova,
          cachedPa: pa,
          current: fresh === SAME_AS_HIT ? { pa } : fresh.ok ? { pa: fresh.pa } : { fault: fresh.reason },
          targetFreed: this.hooks.isFreed(pa),
        });
      }
      return { ok: true, pa, fromIotlb: true, stale };
    }
    const start = this.iotlb.pdeStart(ctx.domainId, iova, ctx.mode);
    const walk: WalkResult | WalkFault = start
      ? hwWalkFrom(this.mem, start, iova)
      : hwWalk(this.mem, ctx.rootPa, ctx.mode, iova);
    if (isWalkFault(walk)) return this.fault(ctx, iova, access, walk.reason, walk.reason !== 'not_present');
    this.iotlb.insertPdes(ctx.domainId, iova, walk.pdes);
    const read = walk.read && ctx.read;
    const write = walk.write && ctx.write;
    if (access === 'read' ? !read : !write) return this.fault(ctx, iova, access, 'permission', true);
    this.cachedDomains.add(ctx.domainId);
    const pagePa = walk.pa - (iova - walk.pageIova);
    this.iotlb.insert({
      domainId: ctx.domainId,
      pageIova: walk.pageIova,
      pageLg2: walk.pageLg2,
      pa: pagePa,
      read,
      write,
      toPa: pagePa - walk.pageIova,
      verified: undefined,
    });
    return { ok: true, pa: walk.pa, fromIotlb: false, stale: false };
  }

  /**
   * What a walk of memory from the root gives for `iova` now, to compare with an IOTLB hit. A successful
   * walk is remembered per entry with the table pages it read: while none of them was written since, a walk
   * for any IOVA of the page it found reads the same entries, so it is not repeated.
   */
  private freshWalk(ctx: TranslationContext, iova: bigint, hit: CachedTranslation): FreshWalk {
    const known = hit.verified;
    const epoch = this.mem.writeEpoch;
    if (
      known !== undefined &&
      known.rootPa === ctx.rootPa &&
      known.mode === ctx.mode &&
      (known.coversHit || (iova & known.pageMask) === known.pageIova) &&
      (known.epoch === epoch || this.mem.unchangedSince(known.tables, known.epoch))
    ) {
      // Nothing it read changed up to now: the next check can start from here.
      known.epoch = epoch;
      return known.matchesHit ? SAME_AS_HIT : { ok: true, pa: known.pagePa + (iova - known.pageIova) };
    }
    const walk = hwWalk(this.mem, ctx.rootPa, ctx.mode, iova);
    if (isWalkFault(walk)) {
      hit.verified = undefined;
      return { ok: false, reason: walk.reason };
    }
    const pagePa = walk.pa - (iova - walk.pageIova);
    const coversHit = walk.pageLg2 >= hit.pageLg2 && (hit.pageIova & ~low(walk.pageLg2)) === walk.pageIova;
    hit.verified = {
      rootPa: ctx.rootPa,
      mode: ctx.mode,
      epoch,
      tables: walk.tables.map((t) => Number(t >> 12n)),
      pageIova: walk.pageIova,
      pageMask: ~low(walk.pageLg2),
      pagePa,
      coversHit,
      // The walk's page maps every IOVA of the hit's page where the hit does: the same translation.
      matchesHit: coversHit && pagePa - walk.pageIova === hit.toPa,
    };
    return { ok: true, pa: walk.pa };
  }

  private fault(
    ctx: TranslationContext,
    iova: bigint,
    access: Access,
    reason: string,
    present: boolean,
  ): TranslateResult {
    const flags =
      (present ? EVENT_FLAG_PR : 0) |
      (access === 'write' ? EVENT_FLAG_RW : 0) |
      (reason === 'permission' ? EVENT_FLAG_PE : 0);
    this.post({ code: 'IO_PAGE_FAULT', deviceId: ctx.deviceId, domainId: ctx.domainId, address: iova, flags });
    return { ok: false, fault: reason };
  }
}

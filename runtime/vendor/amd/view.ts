import { hex } from '../../base/format.js';
import {
  DEVID_MAP_BASE,
  DEVID_MAP_ENTRY_SIZE,
  DOMID_MAP_BASE,
  DOMID_MAP_ENTRY_SIZE,
  GUEST_MISC_CONTROL,
} from '../../hw/viommu/vfcntl.js';
import { formatCommand, formatHwEvent } from '../../hw/format.js';
import { decodeCommand, type Command } from '../../hw/commands.js';
import type { DeviceTableEntry } from '../../hw/dte.js';
import type { GuestIssue } from '../../hw/guest-queue.js';
import * as R from '../../hw/regs.js';
import type { ProtectionDomain } from '../../linux/amd/domain.js';
import type { AmdIommu } from '../../linux/amd/amd-iommu.js';
import { ErrPtr } from '../../linux/kptr.js';
import type { Kernel } from '../../linux/kernel.js';
import { enumerateLeaves, entryAt, tableEntries, walkPath, type Leaf, type WalkStep } from '../../pt/enumerate.js';
import { EntryType } from '../../pt/defs.js';
import { A, amdv1, D, FC, IR, IW, nextLevel, OA_MASK, pt_iommu_amdv1_hw_info } from '../../pt/fmt/amdv1.js';
import type {
  CommandEffect,
  DecodedEntry,
  DomainView,
  DriverField,
  ExecutedCommandView,
  GuestView,
  IommuView,
  MachineView,
  StaleHitView,
} from '../view.js';
import { readDriverObjects } from './driver-objects.js';
import { guestIdImbalance, moreGuestResidue, readGuests, vdeviceMismatches } from './guest-state.js';
import type { AmdMachine } from './machine.js';

/** The AMD machine as the generic runtime sees it. */
export class AmdView implements MachineView {
  readonly k: Kernel;
  readonly bootDomainIds: readonly number[];

  constructor(private readonly m: AmdMachine) {
    this.k = m.k;
    this.bootDomainIds = m.bootDomainIds;
  }

  /** The paging domains the driver holds: each IOMMU's vIOMMU domain, once each, by ID. */
  domains(): readonly DomainView[] {
    const seen: ProtectionDomain[] = [];
    for (const iommu of this.m.driver.iommus) {
      const pdom = iommu.viommu_pdom;
      if (pdom && !(pdom instanceof ErrPtr) && pdom.amdv1 && !seen.includes(pdom)) seen.push(pdom);
    }
    for (const pdom of this.m.pagingDomains.values()) if (pdom.amdv1 && !seen.includes(pdom)) seen.push(pdom);
    return seen.sort((a, b) => a.id - b.id).map((d) => new AmdDomainView(this.k, d));
  }

  domain(id: number): DomainView | undefined {
    return this.domains().find((d) => d.id === id);
  }

  iommus(): readonly IommuView[] {
    return this.m.driver.iommus.map((i) => new AmdIommuView(this.k, i, this.m));
  }

  allocatedDomainIds(): readonly number[] {
    return this.m.driver.g.pdom_ids.allocated();
  }

  driverObjects(): ReadonlyMap<string, Readonly<Record<string, DriverField>>> {
    return readDriverObjects(this.m.driver.iommus, this.m.viommus);
  }

  nestParentIds(): readonly number[] {
    return [...this.m.nestParentIds].sort((a, b) => a - b);
  }

  /** Kernel addresses the driver's structs still hold: the private subregions, ext-IR tables, dev_data. */
  driverReferences(): readonly bigint[] {
    const held = this.m.driver.iommus.flatMap((i) => [...i.viommu_priv_region, i.ext_ir_table]);
    for (const dev of this.m.driver.devices.values()) held.push(dev.va ?? null);
    // Each paging domain's pdom_iommu_info entries (the IOMMUs its devices sit behind).
    const pdoms = [...this.m.pagingDomains.values(), ...this.m.driver.iommus.map((i) => i.viommu_pdom)];
    for (const pdom of pdoms)
      if (pdom && !(pdom instanceof ErrPtr)) for (const info of pdom.iommu_array.values()) held.push(info.va ?? null);
    held.push(...this.m.guestReferences());
    return held.filter((va): va is bigint => va !== null && va !== undefined);
  }
}

class AmdDomainView implements DomainView {
  readonly id: number;
  readonly objectVa: bigint;
  readonly top: { readonly pa: bigint; readonly level: number; readonly mode: number };
  private leafCache: readonly Leaf[] | undefined;

  constructor(
    private readonly k: Kernel,
    private readonly pdom: ProtectionDomain,
  ) {
    this.id = pdom.id;
    this.objectVa = pdom.va;
    const top = pdom.amdv1!.top();
    this.top = { ...top, mode: pt_iommu_amdv1_hw_info(top).mode };
  }

  tablePages(): readonly bigint[] {
    return this.pdom.amdv1!.tablePages();
  }

  leaves(): readonly Leaf[] {
    this.leafCache ??= enumerateLeaves(this.k.mem, amdv1, this.top.pa, this.top.level, (n) => {
      this.k.meter.check('leaves', n);
      this.k.meter.tick();
    });
    return this.leafCache;
  }

  entryFor(iova: bigint): bigint {
    return entryAt(this.k.mem, amdv1, this.top.pa, this.top.level, iova);
  }

  walk(iova: bigint): readonly WalkStep[] {
    return walkPath(this.k.mem, amdv1, this.top.pa, this.top.level, iova);
  }

  tableEntries(tablePa: bigint, level: number): readonly bigint[] {
    return tableEntries(this.k.mem, amdv1, tablePa, level);
  }

  itemLg2(level: number): number {
    return amdv1.itemLg2(level);
  }

  decodeEntry(entry: bigint, level: number): DecodedEntry {
    return decodeAmdv1Entry(entry, level);
  }
}

/** Bits of a v1 entry by name (amd-iommu-facts §1.2); U (59) is never set by Linux and not shown. */
const FLAG_BITS: readonly [string, bigint][] = [
  ['A', A],
  ['D', D],
  ['FC', FC],
  ['IR', IR],
  ['IW', IW],
];

/** An AMD v1 entry decoded by the format's own rule (PR=0 empty; level 0, NL=0 or NL=7 a leaf; else a table). */
export function decodeAmdv1Entry(entry: bigint, level: number): DecodedEntry {
  const type = amdv1.entryType(entry, level);
  if (type === EntryType.EMPTY)
    return { kind: 'empty', target: 0n, lg2: amdv1.itemLg2(level), fields: entry === 0n ? '' : 'not present' };
  const flags = FLAG_BITS.flatMap(([name, bit]) => ((entry & bit) !== 0n ? [name] : []));
  const nl = `NL=${nextLevel(entry)}`;
  if (type === EntryType.TABLE) {
    const target = amdv1.tablePa(entry);
    return {
      kind: 'table',
      target,
      lg2: amdv1.itemLg2(level),
      fields: ['PR', nl, `OA=${hex(entry & OA_MASK)}`, ...flags].join(' '),
    };
  }
  const lg2 = amdv1.entryOaLg2(entry, level);
  const target = amdv1.entryOa(entry);
  return {
    kind: 'leaf',
    target,
    lg2,
    fields: [
      'PR',
      nl,
      `OA=${hex(entry & OA_MASK)}`,
      `pa=${hex(target)}`,
      `size=${hex(1n << BigInt(lg2))}`,
      ...flags,
    ].join(' '),
  };
}

function effectOf(c: Command, entry: DeviceTableEntry | undefined): CommandEffect {
  switch (c.op) {
    case 'INVALIDATE_IOMMU_PAGES':
      return { kind: 'invalidate', domainId: c.domainId, start: c.range.start, size: c.range.size, guest: c.gn };
    case 'COMPLETION_WAIT':
      return { kind: 'wait' };
    case 'INVALIDATE_DEVTAB_ENTRY':
      return entry && entry.valid && entry.translationValid && entry.mode !== 0 && entry.mode !== 7
        ? { kind: 'device_entry', deviceId: c.deviceId, translates: { domainId: entry.domainId, rootPa: entry.rootPa } }
        : { kind: 'device_entry', deviceId: c.deviceId };
    case 'INVALIDATE_IOTLB_PAGES':
    case 'INVALIDATE_INTERRUPT_TABLE':
    case 'COMPLETE_PPR_REQUEST':
    case 'INVALIDATE_IOMMU_ALL':
    case 'RESET_VMMIO':
      return { kind: 'other' };
  }
}

/**
 * A guest-issued command's marker: the guest ID, then the guest's own ID or address where the hardware
 * replaced it (the printed command is the host form the IOMMU executed).
 */
function guestSuffix(g: GuestIssue): string {
  const c = g.issued;
  const own =
    c.op === 'INVALIDATE_IOMMU_PAGES'
      ? ` gdomain=${c.domainId}`
      : c.op === 'COMPLETION_WAIT'
        ? c.store
          ? ` gstore=${hex(c.semaphorePa)}`
          : ''
        : 'deviceId' in c
          ? ` gdevid=${hex(c.deviceId)}`
          : '';
  return ` gid=${hex(g.gid)}${own}`;
}

/** The per-guest tables of the private space (viommu.c VIOMMU_*_MAPPING_*). */
const GUEST_TABLES = [
  { name: 'DevID', base: DEVID_MAP_BASE, stride: DEVID_MAP_ENTRY_SIZE },
  { name: 'DomID', base: DOMID_MAP_BASE, stride: DOMID_MAP_ENTRY_SIZE },
] as const;

/** VF_CNTL queue registers and their enable bits (fact sheet §4.2). */
const QUEUE_ENABLES = [
  { name: 'command', offset: 0x20, enables: 1n << 8n },
  { name: 'event', offset: 0x28, enables: 1n << 8n },
  { name: 'PPR', offset: 0x30, enables: (1n << 8n) | (1n << 10n) },
] as const;

class AmdIommuView implements IommuView {
  readonly index: number;

  constructor(
    private readonly k: Kernel,
    private readonly iommu: AmdIommu,
    private readonly m: AmdMachine,
  ) {
    this.index = iommu.index;
  }

  guests(): readonly GuestView[] {
    return readGuests(this.m, this.iommu);
  }

  guestIdImbalance(): readonly string[] {
    return guestIdImbalance(this.m, this.iommu);
  }

  vdeviceMismatches(): readonly string[] {
    return vdeviceMismatches(this.m, this.iommu, () => this.guests());
  }

  executed(): readonly ExecutedCommandView[] {
    return this.iommu.mmio.executed.map((c) => ({ seq: c.seq, step: c.step, effect: effectOf(c.command, c.entry) }));
  }

  commandLines(): readonly string[] {
    return this.iommu.mmio.executed.map((c) => formatCommand(c.command) + (c.guest ? guestSuffix(c.guest) : ''));
  }

  commandWords(): readonly (readonly number[])[] {
    return this.iommu.mmio.executed.map((c) => c.raw);
  }

  ring(): ReturnType<IommuView['ring']> {
    const r = this.iommu.mmio.ring();
    return {
      head: BigInt(r.head),
      tail: BigInt(r.tail),
      queued: r.queued.map((words) => {
        const d = decodeCommand(words);
        return d.ok
          ? { line: formatCommand(d.command), words, effect: effectOf(d.command, undefined) }
          : { line: `(illegal: ${d.reason})`, words, effect: { kind: 'other' as const } };
      }),
    };
  }

  iotlbLines(): readonly string[] {
    return this.iommu.mmio.iotlb
      .snapshot()
      .map(
        (e) =>
          `domain=${e.domainId} iova=${hex(e.pageIova)} size=${hex(1n << BigInt(e.pageLg2))} pa=${hex(e.pa)} ${e.read ? 'r' : ''}${e.write ? 'w' : ''}`,
      );
  }

  eventLines(): readonly string[] {
    const lines = this.iommu.mmio.events.map((e) => formatHwEvent(this.index, e.event));
    const lost = this.iommu.mmio.lostEvents;
    if (lost) lines.push(`iommu${this.index} event log overflow: ${lost} more events lost`);
    return lines;
  }

  staleLines(): readonly string[] {
    return this.iommu.mmio.staleHits.map(
      (h) =>
        `iommu${this.index} stale IOTLB hit domain=${h.domainId} iova=${hex(h.iova)} pa=${hex(h.cachedPa)}${h.targetFreed ? ' (target freed)' : ''}`,
    );
  }

  staleHits(): readonly StaleHitView[] {
    return this.iommu.mmio.staleHits;
  }

  cachesDomain(domainId: number): boolean {
    return this.iommu.mmio.cachedDomains.has(domainId);
  }

  deviceEntry(devid: number, words: number): readonly bigint[] {
    const base = this.iommu.mmio.readq(R.MMIO_DEV_TABLE_OFFSET) & 0x000f_ffff_ffff_f000n;
    return Array.from({ length: words }, (_, w) => this.k.mem.read64(base + BigInt(devid) * 32n + BigInt(w) * 8n));
  }

  guestResidue(): readonly string[] {
    const live = new Set(this.iommu.gid_ida?.allocated() ?? []);
    const out: string[] = [];
    for (const gid of this.iommu.mmio.vfcntl.guestsWithRegisters()) {
      if (live.has(gid)) continue;
      for (const { offset, value } of this.iommu.mmio.vfcntl.guestRegisters(gid)) {
        const queue = QUEUE_ENABLES.find((q) => q.offset === offset && (value & q.enables) !== 0n);
        if (queue)
          out.push(
            `iommu${this.index}: gid ${gid} is free but its ${queue.name} queue is still enabled (${hex(value)})`,
          );
        if (offset === GUEST_MISC_CONTROL)
          out.push(
            `iommu${this.index}: gid ${gid} is free but VF_CNTL still names translate devid ${hex(value >> 16n)}`,
          );
      }
    }
    const more = moreGuestResidue(this.m, this.iommu);
    const pdom = this.iommu.viommu_pdom;
    if (!pdom || pdom instanceof ErrPtr || !pdom.amdv1) return [...out, ...more];
    const leaves = new AmdDomainView(this.k, pdom).leaves();
    for (const table of GUEST_TABLES) {
      const gids = new Set<number>();
      for (const leaf of leaves) {
        if (leaf.iova < table.base || leaf.iova >= table.base + table.stride * 0x10000n) continue;
        const gid = Number((leaf.iova - table.base) / table.stride);
        if (!live.has(gid)) gids.add(gid);
      }
      for (const gid of gids)
        out.push(
          `iommu${this.index}: gid ${gid} is free but its ${table.name} table is still mapped at IPA ${hex(table.base + BigInt(gid) * table.stride)}`,
        );
    }
    return [...out, ...more];
  }

  privateSpaceFaults(): readonly string[] {
    return [...this.iommu.mmio.vfcntl.faultedStores.values()].map(
      (f) =>
        `iommu${this.index}: ${f.count} ${f.table === 'devid' ? 'DevID' : 'DomID'} map stores of gid ${f.gid} ` +
        `faulted, the first at IPA ${hex(f.firstIpa)}`,
    );
  }
}

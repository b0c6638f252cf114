import { hex } from '../../base/format.js';
import * as R from '../../hw/regs.js';
import { VF_CMD_HEAD, VF_CMD_TAIL, VF_EVT_HEAD, VF_EVT_TAIL, VF_GUEST_STRIDE, VF_STATUS } from '../../hw/viommu/vf.js';
import {
  DEVID_MAP_BASE,
  DEVID_MAP_ENTRY_SIZE,
  DOMID_MAP_BASE,
  DOMID_MAP_ENTRY_SIZE,
  GUEST_COMMAND_CONTROL,
  GUEST_DID_MAP_CONTROL0,
  GUEST_DID_MAP_CONTROL1,
  GUEST_EVENT_CONTROL,
  GUEST_MISC_CONTROL,
  GUEST_PPR_CONTROL,
  VFCTRL_GUEST_STRIDE,
} from '../../hw/viommu/vfcntl.js';
import type { AmdIommu } from '../../linux/amd/amd-iommu.js';
import { ErrPtr } from '../../linux/kptr.js';
import { CacheMode, cacheModeName } from '../../mem/memtype.js';
import { enumerateLeaves, type Leaf } from '../../pt/enumerate.js';
import { amdv1 } from '../../pt/fmt/amdv1.js';
import type { GuestQueueView, GuestView } from '../view.js';
import type { GuestVocabulary } from '../vendor.js';
import type { AmdMachine } from './machine.js';

/**
 * The vIOMMU guests of one IOMMU as the end state shows them, read the way the hardware would: VF_CNTL and VF
 * registers from their register files, the DevID/DomID tables through the IOMMU's own private space (IPA →
 * viommu_pdom's table → memory). A table has 65536 entries: only materialised pages are scanned, and only
 * entries that differ from what viommu_clear_mapping leaves are reported.
 */

/** VF_CNTL registers of a guest's 64-byte block, by the name a spec uses (fact sheet §4.2). */
export const VF_CNTL_REGISTERS: Readonly<Record<string, number>> = {
  did_map0: GUEST_DID_MAP_CONTROL0,
  did_map1: GUEST_DID_MAP_CONTROL1,
  misc: GUEST_MISC_CONTROL,
  cmd: GUEST_COMMAND_CONTROL,
  evt: GUEST_EVENT_CONTROL,
  ppr: GUEST_PPR_CONTROL,
};

/** VF page registers of a guest, by name (runtime/hw/viommu/vf.ts). */
export const VF_REGISTERS: Readonly<Record<string, number>> = {
  cmd_head: VF_CMD_HEAD,
  cmd_tail: VF_CMD_TAIL,
  evt_head: VF_EVT_HEAD,
  evt_tail: VF_EVT_TAIL,
  status: VF_STATUS,
};

/** The queue registers' enable bits by name, as the hw_queue flags name them (fact sheet §3.9, §4.2). */
const QUEUES: readonly {
  readonly type: string;
  readonly offset: number;
  readonly baseShift: bigint;
  readonly flags: Readonly<Record<string, bigint>>;
  readonly pointers?: readonly [number, number];
}[] = [
  {
    type: 'cmd',
    offset: GUEST_COMMAND_CONTROL,
    baseShift: 12n,
    flags: { cmdbuf_en: 8n, comwait_en: 9n },
    pointers: [VF_CMD_HEAD, VF_CMD_TAIL],
  },
  {
    type: 'evt',
    offset: GUEST_EVENT_CONTROL,
    baseShift: 12n,
    flags: { evt_log_en: 8n, evt_int_en: 9n },
    pointers: [VF_EVT_HEAD, VF_EVT_TAIL],
  },
  {
    type: 'ppr',
    offset: GUEST_PPR_CONTROL,
    baseShift: 16n,
    flags: {
      pprlog_en: 8n,
      pprint_en: 9n,
      ppr_en: 10n,
      ppr_auto_rsp_en: 13n,
      blkstopmrk_en: 14n,
      ppr_auto_rsp_aon: 15n,
    },
  },
];

/** The names `expect: guests:` accepts, from the tables above. */
export const AMD_GUEST_VOCABULARY: GuestVocabulary = {
  vf_cntl: Object.keys(VF_CNTL_REGISTERS),
  vf: Object.keys(VF_REGISTERS),
  queues: Object.fromEntries(QUEUES.map((q) => [q.type, Object.keys(q.flags)])),
};

const BASE_BITS = (1n << 40n) - 1n; // 40 bits of base >> 12 (51:12, or 55:16 for PPR)
const TABLES = [
  { name: 'DevID', base: DEVID_MAP_BASE, stride: DEVID_MAP_ENTRY_SIZE, entry: 16 },
  { name: 'DomID', base: DOMID_MAP_BASE, stride: DOMID_MAP_ENTRY_SIZE, entry: 8 },
] as const;
const GUESTS = 0x10000;

/** The private space's leaves (viommu_pdom's table), or none when the IOMMU has no vIOMMU domain. */
function privateLeaves(m: AmdMachine, iommu: AmdIommu): readonly Leaf[] {
  const pdom = iommu.viommu_pdom;
  if (!pdom || pdom instanceof ErrPtr || !pdom.amdv1) return [];
  const top = pdom.amdv1.top();
  return enumerateLeaves(m.k.mem, amdv1, top.pa, top.level);
}

/** The leaf covering `ipa` (leaves come in IOVA order, so a binary search). */
function translate(leaves: readonly Leaf[], ipa: bigint): bigint | null {
  let lo = 0;
  let hi = leaves.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const l = leaves[mid]!;
    if (ipa < l.iova) hi = mid - 1;
    else if (ipa >= l.iova + (1n << BigInt(l.lg2))) lo = mid + 1;
    else return l.pa + (ipa - l.iova);
  }
  return null;
}

/** The live vIOMMU object of this IOMMU holding `gid`, if any. */
function viommuOf(m: AmdMachine, iommu: AmdIommu, gid: number) {
  return [...m.viommus.values()].find((v) => v.iommu === iommu && v.viommu.gid === gid)?.viommu;
}

/**
 * Non-default entries of one guest table read through the private space: a page that does not translate is
 * not read, a page never written reads zero. `defaults` are the values viommu_clear_mapping writes.
 */
function tableEntries(
  m: AmdMachine,
  leaves: readonly Leaf[],
  table: (typeof TABLES)[number],
  gid: number,
  defaults: readonly bigint[],
): Map<number, number> {
  const out = new Map<number, number>();
  const base = table.base + BigInt(gid) * table.stride;
  const perPage = 4096 / table.entry;
  const pages = (GUESTS * table.entry) / 4096;
  const step = table.entry / 8;
  for (let p = 0; p < pages; p++) {
    const pa = translate(leaves, base + BigInt(p) * 4096n);
    if (pa === null) continue;
    const words = m.k.mem.peekPage(Number(pa >> 12n));
    if (!words) continue;
    for (let i = 0; i < perPage; i++) {
      const v = words[i * step]!;
      if (v === 0n || defaults.includes(v)) continue;
      out.set(p * perPage + i, Number((v >> 24n) & 0xffffn));
    }
  }
  return out;
}

function queueOf(m: AmdMachine, iommu: AmdIommu, gid: number, q: (typeof QUEUES)[number]): GuestQueueView | null {
  const value = iommu.mmio.vfcntl.read(gid * VFCTRL_GUEST_STRIDE + q.offset);
  if (!value) return null;
  const page = gid * VF_GUEST_STRIDE;
  return {
    base: ((value >> q.baseShift) & BASE_BITS) << 12n,
    length: Number(value & 0xfn),
    flags: Object.entries(q.flags).flatMap(([name, bit]) => ((value >> bit) & 1n ? [name] : [])),
    ...(q.pointers
      ? { head: iommu.mmio.vf.read(page + q.pointers[0]), tail: iommu.mmio.vf.read(page + q.pointers[1]) }
      : {}),
    ...(q.type === 'cmd' ? { halted: iommu.mmio.guests.halted.has(gid) } : {}),
  };
}

/** Guest IDs with any state: allocated, with registers, or with a table mapped in the private space. */
function guestIds(iommu: AmdIommu, leaves: readonly Leaf[]): number[] {
  const gids = new Set<number>(iommu.gid_ida?.allocated() ?? []);
  // The map ports keep the last mapping written, which every teardown leaves: they alone make no guest.
  const ports = [GUEST_DID_MAP_CONTROL0, GUEST_DID_MAP_CONTROL1];
  for (const gid of iommu.mmio.vfcntl.guestsWithRegisters())
    if (iommu.mmio.vfcntl.guestRegisters(gid).some((r) => !ports.includes(r.offset))) gids.add(gid);
  for (const gid of iommu.mmio.vf.guests()) gids.add(gid);
  for (const leaf of leaves)
    for (const t of TABLES)
      if (leaf.iova >= t.base && leaf.iova < t.base + t.stride * BigInt(GUESTS))
        gids.add(Number((leaf.iova - t.base) / t.stride));
  return [...gids].sort((a, b) => a - b);
}

export function readGuests(m: AmdMachine, iommu: AmdIommu): GuestView[] {
  const leaves = privateLeaves(m, iommu);
  const allocated = new Set(iommu.gid_ida?.allocated() ?? []);
  return guestIds(iommu, leaves).map((gid) => {
    const viommu = viommuOf(m, iommu, gid);
    const parentId = viommu?.parentId ?? m.guestParentId(iommu, gid);
    const valid = (host: number): bigint => (BigInt(host) << 24n) | 1n;
    const block = gid * VFCTRL_GUEST_STRIDE;
    const page = gid * VF_GUEST_STRIDE;
    const regs = (names: Readonly<Record<string, number>>, read: (o: number) => bigint): Map<string, bigint> =>
      new Map(Object.entries(names).flatMap(([name, off]) => (read(off) ? [[name, read(off)] as const] : [])));
    return {
      gid,
      allocated: allocated.has(gid),
      transDevid: viommu ? viommu.trans_devid : null,
      devidTable: translate(leaves, DEVID_MAP_BASE + BigInt(gid) * DEVID_MAP_ENTRY_SIZE),
      domidTable: translate(leaves, DOMID_MAP_BASE + BigInt(gid) * DOMID_MAP_ENTRY_SIZE),
      vfCntl: regs(VF_CNTL_REGISTERS, (o) => iommu.mmio.vfcntl.read(block + o)),
      vf: regs(VF_REGISTERS, (o) => iommu.mmio.vf.read(page + o)),
      // clear_device_mapping writes host DevID 0 with VALID set (bug 2); every gDomID maps to the parent's ID.
      devidMap: tableEntries(m, leaves, TABLES[0], gid, [valid(0)]),
      domidMap: tableEntries(m, leaves, TABLES[1], gid, parentId === undefined ? [] : [valid(parentId)]),
      queues: new Map(
        QUEUES.flatMap((q) => {
          const v = queueOf(m, iommu, gid, q);
          return v ? [[q.type, v] as const] : [];
        }),
      ),
    };
  });
}

/**
 * Residue of guests whose ID is free that the table/register checks in view.ts do not see: a mapped table's
 * pages still UC, a device whose dev_data still names the guest, a DTE that still carries its guest ID, and a
 * translating DTE no attached device and no live vIOMMU owns (a translate DTE left behind).
 */
export function moreGuestResidue(m: AmdMachine, iommu: AmdIommu): string[] {
  const out: string[] = [];
  const live = new Set(iommu.gid_ida?.allocated() ?? []);
  const leaves = privateLeaves(m, iommu);
  const at = `iommu${iommu.index}`;
  for (const t of TABLES) {
    for (const leaf of leaves) {
      if (leaf.iova < t.base || leaf.iova >= t.base + t.stride * BigInt(GUESTS)) continue;
      const gid = Number((leaf.iova - t.base) / t.stride);
      if (live.has(gid) || leaf.iova !== t.base + BigInt(gid) * t.stride) continue;
      const mode = m.k.memtypes.get(Number(leaf.pa >> 12n));
      if (mode !== CacheMode.WB)
        out.push(
          `${at}: gid ${gid} is free but its ${t.name} table's pages at ${hex(leaf.pa)} are still ${cacheModeName(mode)}`,
        );
    }
  }
  for (const dev of m.driver.devices.values()) {
    if (dev.iommu !== iommu || !dev.gid || live.has(dev.gid)) continue;
    out.push(
      `${at}: gid ${dev.gid} is free but device ${hex(dev.devid)} still carries it (guest DevID ${hex(BigInt(dev.gDevId ?? 0))})`,
    );
  }
  // The device table is shared by a segment's IOMMUs: its entries are judged once, on the segment's first.
  const segment = m.driver.iommus.filter((i) => i.seg === iommu.seg);
  if (segment[0] !== iommu) return out;
  const liveGids = new Map(segment.map((i) => [i, new Set(i.gid_ida?.allocated() ?? [])]));
  const devices = [...m.driver.devices.values()].filter((d) => d.iommu.seg === iommu.seg);
  const owned = new Set<number>(segment.map((i) => i.devid));
  // An attached device is on its domain's dev_list; a translate DTE's dev_data never is (the sheet's bug 6).
  for (const dev of devices) if (dev.domain?.dev_list.includes(dev)) owned.add(dev.devid);
  for (const v of m.viommus.values()) if (v.iommu.seg === iommu.seg) owned.add(v.viommu.trans_devid);
  const parents = m.nestParentIds;
  const tablePa = iommu.mmio.readq(R.MMIO_DEV_TABLE_OFFSET) & 0x000f_ffff_ffff_f000n;
  for (let p = 0; p < (GUESTS * 32) / 4096; p++) {
    const words = m.k.mem.peekPage(Number(tablePa >> 12n) + p);
    if (!words) continue;
    for (let e = 0; e < 128; e++) {
      const devid = p * 128 + e;
      const w0 = words[e * 4]!;
      const w3 = words[e * 4 + 3]!;
      const dte = `the DTE of ${hex(BigInt(devid))}`;
      if (w3 & (1n << 15n)) {
        const gid = Number((w3 >> 32n) & 0xffffn);
        const behind = devices.find((d) => d.devid === devid)?.iommu ?? iommu;
        if (!liveGids.get(behind)?.has(gid))
          out.push(`iommu${behind.index}: gid ${gid} is free but ${dte} still names it`);
      }
      // A translate DTE left behind: it translates through a nest parent, and nothing owns its devid.
      const domainId = Number(words[e * 4 + 1]! & 0xffffn);
      const translates = (w0 & 3n) === 3n && ((w0 >> 9n) & 7n) !== 0n && ((w0 >> 9n) & 7n) !== 7n;
      if (translates && parents.has(domainId) && !owned.has(devid))
        out.push(
          `${at}: ${dte} still translates through nest parent ${domainId} but no attached device or live vIOMMU owns it`,
        );
    }
  }
  return out;
}

/** Every allocated guest ID and translate devid belongs to a live vIOMMU object, and each of those has both. */
export function guestIdImbalance(m: AmdMachine, iommu: AmdIommu): string[] {
  const at = `iommu${iommu.index}`;
  const out: string[] = [];
  const viommus = [...m.viommus.entries()].filter(([, v]) => v.iommu === iommu);
  const gids = new Set(viommus.map(([, v]) => v.viommu.gid));
  for (const gid of iommu.gid_ida?.allocated() ?? [])
    if (!gids.has(gid)) out.push(`${at}: gid ${gid} is allocated but no vIOMMU object holds it`);
  const pool = m.driver.g.trans_devid_xa.get(iommu.seg) ?? new Map<number, string>();
  const held = new Set(
    [...m.viommus.values()].filter((v) => v.iommu.seg === iommu.seg).map((v) => v.viommu.trans_devid),
  );
  // The segment's pool is shared: report it once, on the segment's first IOMMU.
  if (m.driver.iommus.find((i) => i.seg === iommu.seg) === iommu)
    for (const [id, state] of [...pool].sort((a, b) => a[0] - b[0]))
      if (state === 'allocated' && !held.has(id))
        out.push(`seg ${iommu.seg}: trans_devid ${hex(BigInt(id))} is allocated but no vIOMMU object holds it`);
  for (const [id, v] of viommus) {
    if (!iommu.gid_ida?.allocated().includes(v.viommu.gid))
      out.push(`${at}: vIOMMU ${id} holds gid ${v.viommu.gid}, which is not allocated`);
    if (pool.get(v.viommu.trans_devid) !== 'allocated')
      out.push(`${at}: vIOMMU ${id} holds trans_devid ${hex(BigInt(v.viommu.trans_devid))}, which is not allocated`);
  }
  return out;
}

/**
 * A live guest's DevID table maps exactly its live vDEVICEs: each vDEVICE's virt_id (a guest DevID must fit
 * 16 bits) to its device's DevID, and nothing else beyond what viommu_clear_mapping leaves.
 */
export function vdeviceMismatches(
  m: AmdMachine,
  iommu: AmdIommu,
  readGuestViews: () => readonly GuestView[],
): string[] {
  const out: string[] = [];
  // Without table stores (the `did_map_stores: false` assumption) the tables stay zero: nothing to judge.
  if (!iommu.mmio.vfcntl.storeMaps) return out;
  let guests: readonly GuestView[] | undefined; // read only when this IOMMU has a live vIOMMU
  for (const [id, v] of m.viommus) {
    if (v.iommu !== iommu) continue;
    guests ??= readGuestViews();
    const guest = guests.find((g) => g.gid === v.viommu.gid);
    const map = new Map(guest?.devidMap ?? []);
    for (const [virtId, d] of [...(m.vdevices.get(id) ?? [])].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const what = `vIOMMU ${id} (gid ${v.viommu.gid}): vDEVICE ${hex(virtId)} of device ${hex(BigInt(d.devid))}`;
      if (virtId > 0xffffn) {
        out.push(`${what} has no DevID entry: a guest DevID has 16 bits`);
        continue;
      }
      const host = map.get(Number(virtId));
      map.delete(Number(virtId));
      if (host !== d.devid)
        out.push(
          `${what} maps to ${host === undefined ? 'host DevID 0 (cleared)' : `host DevID ${hex(BigInt(host))}`}`,
        );
    }
    for (const [g, host] of map)
      out.push(
        `vIOMMU ${id} (gid ${v.viommu.gid}): guest DevID ${hex(BigInt(g))} maps to host DevID ${hex(BigInt(host))} but no vDEVICE has that virt_id`,
      );
  }
  return out;
}

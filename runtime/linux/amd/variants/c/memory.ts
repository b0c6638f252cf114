import type { AmdIommu } from '../../amd-iommu.js';
import type { ProtectionDomain } from '../../domain.js';
import { ERR_PTR, ErrPtr, type KPtr } from '../../../kptr.js';
import { MAX_ERRNO } from '../../../errno.js';

/** A limit of the shim met at run time (not a driver outcome): the tool reports it and stops. */
export class ShimError extends Error {
  constructor(message: string) {
    super(`compiled driver: ${message}`);
    this.name = 'ShimError';
  }
}

/** Offsets and sizes of the shim's mirrored structs, in the order harness.h's __vs_layout lists them. */
export interface ShimLayout {
  readonly amdIommuSize: number;
  readonly amdIommuDev: number;
  readonly amdIommuDevid: number;
  readonly amdIommuSeg: number;
  readonly amdIommuViommuPdom: number;
  readonly amdIommuPrivRegion: number;
  readonly privRegionCount: number;
  readonly pciDevSize: number;
  readonly pciDevDev: number;
  readonly deviceNumaNode: number;
  readonly pdomSize: number;
  readonly pdomDomain: number;
  readonly pdomAmdv1: number;
  readonly pdomId: number;
  readonly hwInfoHostPtRoot: number;
  readonly hwInfoMode: number;
  readonly iommuCmdSize: number;
}
const LAYOUT_KEYS: readonly (keyof ShimLayout)[] = [
  'amdIommuSize',
  'amdIommuDev',
  'amdIommuDevid',
  'amdIommuSeg',
  'amdIommuViommuPdom',
  'amdIommuPrivRegion',
  'privRegionCount',
  'pciDevSize',
  'pciDevDev',
  'deviceNumaNode',
  'pdomSize',
  'pdomDomain',
  'pdomAmdv1',
  'pdomId',
  'hwInfoHostPtRoot',
  'hwInfoMode',
  'iommuCmdSize',
];

/** Handles start here: above any memory the module has, below the ERR_PTR range. */
const HANDLE_BASE = 0xc000_0000;
const HANDLE_STEP = 0x10;
/** Below this the module has no data (wasm-ld --global-base): a pointer there is NULL plus an offset. */
const NULL_GUARD = 4096;
/** (u32)-MAX_ERRNO: ERR_PTR values as a wasm32 pointer. */
const ERR_BASE = 2 ** 32 - MAX_ERRNO;

/**
 * The wasm32 side of the kernel's pointers. The C holds 32-bit pointers; the model's are 64-bit kernel
 * addresses and JavaScript objects. Three kinds of value cross:
 * - mirrors: structs the C reads or writes (amd_iommu, its pci_dev, protection_domain) live in the
 *   module's arena, one per model object, and are copied to and from the model around each call;
 * - handles: kernel addresses the C only passes along (page VAs) are numbers in [0xc0000000, ...), outside
 *   the module's memory, so the C cannot read through one by accident without trapping;
 * - NULL and ERR_PTR: 0 and (u32)-errno, which convert back to the model's null and ErrPtr exactly.
 */
export class WasmPointers {
  readonly layout: ShimLayout;
  private arenaNext: number;
  private readonly arenaEnd: number;
  private readonly vaToHandle = new Map<bigint, number>();
  private readonly handleToVa = new Map<number, bigint>();
  private nextHandle = HANDLE_BASE;
  private readonly pdomAt = new Map<number, ProtectionDomain>();
  private readonly pdomMirror = new Map<ProtectionDomain, number>();
  readonly iommuAt = new Map<number, AmdIommu>();
  private readonly iommuMirror = new Map<AmdIommu, { readonly at: number; readonly pci: number }>();

  constructor(
    private readonly memory: WebAssembly.Memory,
    layoutPtr: number,
    arena: number,
    arenaSize: number,
    /** String literals by address: the module's read-only data, the same for every machine. */
    private readonly strings: Map<number, string> = new Map(),
  ) {
    const raw = new Uint32Array(memory.buffer, layoutPtr, LAYOUT_KEYS.length);
    this.layout = Object.fromEntries(LAYOUT_KEYS.map((k, i) => [k, raw[i]!])) as unknown as ShimLayout;
    this.arenaNext = arena;
    this.arenaEnd = arena + arenaSize;
  }

  get view(): DataView {
    return new DataView(this.memory.buffer);
  }

  /** Zeroed bytes in the arena, 8-aligned; the arena is sized for every object one run makes. */
  alloc(size: number): number {
    const at = (this.arenaNext + 7) & ~7;
    if (at + size > this.arenaEnd) throw new ShimError('the shim arena is full (raise __VS_ARENA_SIZE)');
    this.arenaNext = at + size;
    new Uint8Array(this.memory.buffer, at, size).fill(0);
    return at;
  }

  /** A NUL-terminated string in the module's memory. */
  cString(ptr: number): string {
    const bytes = new Uint8Array(this.memory.buffer);
    let end = ptr;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return String.fromCharCode(...bytes.subarray(ptr, end));
  }

  /** A string literal (a format, a __func__): read-only data, so read once. */
  literal(ptr: number): string {
    let s = this.strings.get(ptr);
    if (s === undefined) {
      s = this.cString(ptr);
      this.strings.set(ptr, s);
    }
    return s;
  }

  /** A kernel VA as the C sees it. */
  handleOf(va: bigint | null): number {
    if (va === null || va === 0n) return 0;
    let h = this.vaToHandle.get(va);
    if (h === undefined) {
      h = this.nextHandle;
      this.nextHandle += HANDLE_STEP;
      if (this.nextHandle >= ERR_BASE) throw new ShimError('out of 32-bit handles for kernel addresses');
      this.vaToHandle.set(va, h);
      this.handleToVa.set(h, va);
    }
    return h;
  }

  /** The kernel VA a `void *` of the C stands for; NULL is null. */
  vaOf(ptr: number): bigint | null {
    const p = ptr >>> 0;
    if (p === 0) return null;
    const va = this.handleToVa.get(p);
    if (va !== undefined) return va;
    if (p >= ERR_BASE) return BigInt.asUintN(64, BigInt(p - 2 ** 32));
    throw new ShimError(`0x${p.toString(16)} is no kernel address the model handed out`);
  }

  /**
   * What `(u64)ptr` is in the kernel: the VA behind a handle, the object's address behind a mirror of a
   * kmalloc'ed object, an ERR_PTR sign-extended.
   */
  kaddr(ptr: number): bigint {
    const p = ptr >>> 0;
    if (p === 0) return 0n;
    if (p >= ERR_BASE) return BigInt.asUintN(64, BigInt(p - 2 ** 32));
    const va = this.handleToVa.get(p);
    if (va !== undefined) return va;
    const pdom = this.pdomAt.get(p - this.layout.pdomDomain) ?? this.pdomAt.get(p);
    if (pdom) return pdom.va + BigInt(p - this.pdomMirror.get(pdom)!);
    throw new ShimError(`the model has no kernel address for the C pointer 0x${p.toString(16)}`);
  }

  /** `(void *)addr` for a kernel address: its handle (a new one for an address never seen). */
  kptr(address: bigint): number {
    const a = BigInt.asUintN(64, address);
    if (a === 0n) return 0;
    if (a >= 2n ** 64n - BigInt(MAX_ERRNO)) return Number(a - (2n ** 64n - 2n ** 32n));
    return this.handleOf(a);
  }

  /** An `unsigned long`/`u64` parameter that carries an address: a 32-bit value is a C pointer. */
  addressArg(value: bigint): bigint {
    const v = BigInt.asUintN(64, value);
    return v < 2n ** 32n ? this.kaddr(Number(v)) : v;
  }

  /** `struct.member` for an access `offset` bytes into a mirrored struct (the oops names the field). */
  memberAt(struct: string, offset: number): string {
    const L = this.layout;
    const members: Record<string, [number, string][]> = {
      amd_iommu: [
        [L.amdIommuDev, 'dev'],
        [L.amdIommuDevid, 'devid'],
        [L.amdIommuSeg, 'seg'],
        [L.amdIommuViommuPdom, 'viommu_pdom'],
        [L.amdIommuPrivRegion, 'viommu_priv_region'],
      ],
      protection_domain: [
        [L.pdomDomain, 'domain'],
        [L.pdomId, 'id'],
      ],
      pci_dev: [[L.pciDevDev, 'dev']],
      device: [[L.deviceNumaNode, 'numa_node']],
    };
    const hit = (members[struct] ?? []).filter(([at]) => at <= offset).sort((a, b) => b[0] - a[0])[0];
    return hit ? `${struct}.${hit[1]}` : `${struct}+0x${offset.toString(16)}`;
  }

  /**
   * A load or store the C makes through `root`: nothing when root points into the module's memory; NULL
   * and ERR_PTR are the kernel's oops (at the base, the field named: the shim's offsets are not the
   * kernel's); a handle is kernel memory the shim does not mirror.
   */
  checkDeref(root: number): { base: bigint } | undefined {
    const r = root >>> 0;
    if (r >= NULL_GUARD && r < Math.min(ERR_BASE, this.memory.buffer.byteLength)) return undefined;
    if (r < NULL_GUARD) return { base: BigInt(r) };
    if (r >= ERR_BASE) return { base: BigInt.asUintN(64, BigInt(r - 2 ** 32)) };
    const va = this.handleToVa.get(r);
    throw new ShimError(
      va === undefined
        ? `the C dereferenced 0x${r.toString(16)}, which is no pointer the model handed out`
        : `the C reads or writes kernel memory at 0x${va.toString(16)}, which the shim does not mirror`,
    );
  }

  // --- protection_domain ------------------------------------------------------------------------------

  pdomPtr(pdom: KPtr<ProtectionDomain>): number {
    if (pdom === null) return 0;
    if (pdom instanceof ErrPtr) return (pdom.errno + 2 ** 32) >>> 0;
    let at = this.pdomMirror.get(pdom);
    if (at === undefined) {
      at = this.alloc(this.layout.pdomSize);
      this.pdomMirror.set(pdom, at);
      this.pdomAt.set(at, pdom);
    }
    this.view.setUint16(at + this.layout.pdomId, pdom.id, true);
    return at;
  }

  /** A `struct protection_domain *`, or a pointer to its `domain`/`amdv1` member (`member` its offset). */
  pdomOf(ptr: number, member = 0): KPtr<ProtectionDomain> {
    const p = ptr >>> 0;
    if (p === 0) return null;
    if (p >= ERR_BASE) return ERR_PTR(p - 2 ** 32 - member);
    const pdom = this.pdomAt.get(p - member);
    if (pdom === undefined) throw new ShimError(`0x${p.toString(16)} is not a protection_domain the model made`);
    return pdom;
  }

  // --- amd_iommu ------------------------------------------------------------------------------------------

  iommuPtr(iommu: AmdIommu | null): number {
    if (iommu === null) return 0;
    let mirror = this.iommuMirror.get(iommu);
    if (mirror === undefined) {
      const L = this.layout;
      if (iommu.viommu_priv_region.length !== L.privRegionCount)
        throw new ShimError(
          `the patch has ${L.privRegionCount} private subregions, the model ${iommu.viommu_priv_region.length}`,
        );
      mirror = { at: this.alloc(L.amdIommuSize), pci: this.alloc(L.pciDevSize) };
      this.iommuMirror.set(iommu, mirror);
      this.iommuAt.set(mirror.at, iommu);
    }
    return mirror.at;
  }

  iommuOf(ptr: number): AmdIommu {
    const iommu = this.iommuAt.get(ptr >>> 0);
    if (iommu === undefined) throw new ShimError(`0x${(ptr >>> 0).toString(16)} is not an amd_iommu the model made`);
    return iommu;
  }

  /** NUMA node of a `struct device *` the C passes (the IOMMU's own PCI function). */
  nodeOfDevice(ptr: number): number {
    return this.view.getInt32((ptr >>> 0) + this.layout.deviceNumaNode, true);
  }

  /**
   * Model -> mirror: every member of the mirror, each call (the module's memory is shared by the machines
   * that use it, so nothing in it outlives a call).
   */
  push(iommu: AmdIommu): void {
    const at = this.iommuPtr(iommu);
    const { pci } = this.iommuMirror.get(iommu)!;
    const L = this.layout;
    const v = this.view;
    v.setInt32(pci + L.pciDevDev + L.deviceNumaNode, iommu.node, true);
    v.setUint32(at + L.amdIommuDev, pci, true);
    v.setUint16(at + L.amdIommuDevid, iommu.devid, true);
    v.setUint16(at + L.amdIommuSeg, iommu.seg, true);
    v.setUint32(at + L.amdIommuViommuPdom, this.pdomPtr(iommu.viommu_pdom), true);
    iommu.viommu_priv_region.forEach((va, i) =>
      v.setUint32(at + L.amdIommuPrivRegion + 4 * i, this.handleOf(va), true),
    );
  }

  /** Mirror -> model: what the C wrote. */
  pull(iommu: AmdIommu): void {
    const at = this.iommuMirror.get(iommu)?.at;
    if (at === undefined) return;
    const L = this.layout;
    const v = this.view;
    iommu.viommu_pdom = this.pdomOf(v.getUint32(at + L.amdIommuViommuPdom, true));
    for (let i = 0; i < L.privRegionCount; i++)
      iommu.viommu_priv_region[i] = this.vaOf(v.getUint32(at + L.amdIommuPrivRegion + 4 * i, true));
  }
}

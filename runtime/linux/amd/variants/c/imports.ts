import { pt_iommu_amdv1_hw_info } from '../../../../pt/fmt/amdv1.js';
import { virt_to_phys } from '../../../../mem/direct-map.js';
import { iommu_alloc_pages_node_sz, iommu_free_pages } from '../../../iommu-pages.js';
import { LogLevel, type LogLevelName } from '../../../printk.js';
import { set_memory_uc, set_memory_wb } from '../../../set-memory.js';
import { vsprintf, type PrintfArg } from '../../../vsprintf.js';
import { amd_iommu_completion_wait, build_inv_iommu_pages, iommu_queue_command, type IommuCmd } from '../../cmd.js';
import type { AmdDriver } from '../../driver.js';
import { iommu_map, iommu_unmap } from '../../iommu-core.js';
import { amd_iommu_domain_alloc_paging_v1, amd_iommu_domain_free } from '../../pdom.js';
import { ShimError, type WasmPointers } from './memory.js';

/**
 * What an import binding works with: the model, the pointer mapping, and the call-path depth it keeps.
 * One instance of a module serves every machine in turn, so the machine whose call is running sets these
 * before it calls into the C (calls never interleave: the C calls nothing that calls back into it).
 */
export interface ImportContext {
  d: AmdDriver;
  ptrs: WasmPointers;
  /** Frames the C entered and has not left (an oops unwinds past its cleanups). */
  depth: number;
  /** Called before each kernel function runs: the model sees what the C wrote to its mirrors. */
  sync: () => void;
}

type Binding = (c: ImportContext) => WebAssembly.ImportValue;

const sizeArg = (size: number): bigint => BigInt(size >>> 0);
const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
/** A 64-bit result as wasm takes it. */
const i64 = (v: bigint): bigint => BigInt.asIntN(64, v);
function sizeResult(v: bigint): number {
  if (v >= 2n ** 32n) throw new ShimError(`size_t result 0x${v.toString(16)} does not fit wasm32`);
  return Number(v);
}

function readCmd(p: WasmPointers, ptr: number): IommuCmd {
  const v = p.view;
  return [0, 4, 8, 12].map((o) => v.getUint32(ptr + o, true)) as IommuCmd;
}

const LEVELS = Object.entries(LogLevel) as [LogLevelName, number][];

/**
 * printk(fmt, ...): the level from the KERN_SOH prefix, the arguments read from the wasm32 varargs buffer
 * by the conversions of `fmt`, formatted by the same vsprintf as the port. `long` and `size_t` are 32-bit
 * in the module and are widened as the C types would be (sign-extended for %ld/%zd, zero-extended else).
 */
export function printkArgs(p: WasmPointers, fmt: string, argPtr: number): PrintfArg[] {
  const v = p.view;
  let at = argPtr;
  const args: PrintfArg[] = [];
  const take = (bytes: 4 | 8): bigint => {
    at = (at + bytes - 1) & ~(bytes - 1);
    const x = bytes === 8 ? v.getBigUint64(at, true) : BigInt(v.getUint32(at, true));
    at += bytes;
    return x;
  };
  const spec = /%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|L|z|t|j)?([diuxXoscp%])/g;
  for (const m of fmt.matchAll(spec)) {
    if (m[5] === '%') continue;
    if (m[2] === '*') args.push(Number(BigInt.asIntN(32, take(4))));
    if (m[3] === '*') args.push(Number(BigInt.asIntN(32, take(4))));
    const conv = m[5]!;
    const length = m[4];
    const signed = conv === 'd' || conv === 'i';
    if (conv === 's') args.push(p.cString(Number(take(4))));
    else if (conv === 'p') args.push(p.kaddr(Number(take(4))));
    else if (length === 'll' || length === 'L' || length === 'j') args.push(take(8));
    else if (length === 'l' || length === 'z' || length === 't') {
      const x = take(4);
      args.push(signed ? BigInt.asIntN(32, x) : x);
    } else {
      const x = take(4);
      args.push(Number(signed ? BigInt.asIntN(32, x) : x));
    }
  }
  return args;
}

/**
 * The kernel functions a compiled patch may call, by the name the shim imports them under
 * (runtime/linux/shim/kernel.h): the one registry `build-driver` checks a module's imports against.
 */
export const KERNEL_IMPORTS: Record<string, Binding> = {
  _printk: (c) => (fmtPtr: number, argPtr: number) => {
    const raw = c.ptrs.literal(fmtPtr);
    // KERN_SOH ("\001") and the level digit; a line without one is printed at the default level (4).
    const leveled = raw.charCodeAt(0) === 1 && /[0-7]/.test(raw[1] ?? '');
    const name = LEVELS.find(([, n]) => n === (leveled ? Number(raw[1]) : 4))![0];
    const fmt = leveled ? raw.slice(2) : raw;
    const text = vsprintf(fmt, printkArgs(c.ptrs, fmt, argPtr));
    c.d.k.log.print(name, text);
    return text.length;
  },
  iommu_alloc_pages_node_sz: (c) => (nid: number, gfp: number, size: number) => {
    c.sync();
    return c.ptrs.handleOf(iommu_alloc_pages_node_sz(c.d.k, nid, gfp >>> 0, sizeArg(size)));
  },
  iommu_free_pages: (c) => (ptr: number) => {
    c.sync();
    iommu_free_pages(c.d.k, c.ptrs.vaOf(ptr));
  },
  set_memory_uc: (c) => (addr: bigint, numpages: number) => {
    c.sync();
    return set_memory_uc(c.d.k, c.ptrs.addressArg(addr), numpages);
  },
  set_memory_wb: (c) => (addr: bigint, numpages: number) => {
    c.sync();
    return set_memory_wb(c.d.k, c.ptrs.addressArg(addr), numpages);
  },
  iommu_map: (c) => (dom: number, iova: bigint, paddr: bigint, size: number, prot: number, gfp: number) => {
    c.sync();
    const pdom = c.ptrs.pdomOf(dom, c.ptrs.layout.pdomDomain);
    return iommu_map(c.d.k, pdom, u64(iova), u64(paddr), sizeArg(size), prot, gfp >>> 0);
  },
  iommu_unmap: (c) => (dom: number, iova: bigint, size: number) => {
    c.sync();
    return sizeResult(iommu_unmap(c.d.k, c.ptrs.pdomOf(dom, c.ptrs.layout.pdomDomain), u64(iova), sizeArg(size)));
  },
  iommu_virt_to_phys: (c) => (ptr: number) => i64(virt_to_phys(c.ptrs.vaOf(ptr) ?? 0n)),
  amd_iommu_domain_alloc_paging_v1: (c) => (dev: number, flags: number) => {
    c.sync();
    const dom = amd_iommu_domain_alloc_paging_v1(c.d, c.ptrs.nodeOfDevice(dev), flags >>> 0);
    const at = c.ptrs.pdomPtr(dom);
    return at === 0 || at >= 2 ** 32 - 4095 ? at : at + c.ptrs.layout.pdomDomain;
  },
  amd_iommu_domain_free: (c) => (dom: number) => {
    c.sync();
    amd_iommu_domain_free(c.d, c.ptrs.pdomOf(dom, c.ptrs.layout.pdomDomain));
  },
  build_inv_iommu_pages:
    (c) => (cmd: number, address: bigint, size: number, domid: number, pasid: number, gn: number) => {
      const words = build_inv_iommu_pages(u64(address), sizeArg(size), domid & 0xffff, pasid >>> 0, gn !== 0);
      words.forEach((w, i) => c.ptrs.view.setUint32(cmd + 4 * i, w, true));
    },
  iommu_queue_command: (c) => (iommu: number, cmd: number) => {
    c.sync();
    return iommu_queue_command(c.d.k, c.ptrs.iommuOf(iommu), readCmd(c.ptrs, cmd));
  },
  amd_iommu_completion_wait: (c) => (iommu: number) => {
    c.sync();
    return amd_iommu_completion_wait(c.d.k, c.ptrs.iommuOf(iommu));
  },
  iommu_completion_wait: (c) => (iommu: number) => {
    c.sync();
    return amd_iommu_completion_wait(c.d.k, c.ptrs.iommuOf(iommu));
  },
  pt_iommu_amdv1_hw_info: (c) => (table: number, info: number) => {
    const pdom = c.d.k.deref(c.ptrs.pdomOf(table, c.ptrs.layout.pdomAmdv1), { field: 'protection_domain.amdv1' });
    const hw = pt_iommu_amdv1_hw_info(pdom.amdv1!.top());
    const v = c.ptrs.view;
    v.setBigUint64(info + c.ptrs.layout.hwInfoHostPtRoot, hw.host_pt_root, true);
    v.setUint8(info + c.ptrs.layout.hwInfoMode, hw.mode);
  },
  __vs_enter: (c) => (name: number) => {
    c.d.k.meter.tick();
    c.d.k.faults.path.enter(c.ptrs.literal(name));
    c.depth++;
  },
  __vs_leave: (c) => () => {
    c.d.k.faults.path.leave();
    c.depth--;
  },
  __vs_iter: (c) => (index: number) => c.d.k.faults.path.tagNext(index),
  __vs_deref: (c) => (root: number, address: number, struct: number) => {
    const bad = c.ptrs.checkDeref(root);
    if (bad === undefined) return;
    const field = c.ptrs.memberAt(c.ptrs.literal(struct), (address - root) >>> 0);
    c.d.k.oops(bad.base, { field });
  },
  __vs_kaddr: (c) => (ptr: number) => i64(c.ptrs.kaddr(ptr)),
  __vs_kptr: (c) => (address: bigint) => c.ptrs.kptr(address),
};

export const KERNEL_IMPORT_NAMES: ReadonlySet<string> = new Set(Object.keys(KERNEL_IMPORTS));

export function kernelImports(c: ImportContext): WebAssembly.Imports {
  return { kernel: Object.fromEntries(Object.entries(KERNEL_IMPORTS).map(([n, b]) => [n, b(c)])) };
}

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { buildDriver, checkImports, DriverBuildError } from '../../../../wasm/build.js';
import { KernelOops, type KPtr } from '../../../kptr.js';
import type { Gfp } from '../../../gfp.js';
import type { AmdIommu } from '../../amd-iommu.js';
import type { ProtectionDomain } from '../../domain.js';
import type { AmdDriver } from '../../driver.js';
import { ViommuPatchV3 } from '../../viommu.js';
import { KERNEL_IMPORT_NAMES, kernelImports, type ImportContext } from './imports.js';
import { ShimError, WasmPointers } from './memory.js';

/** Where the `c` variant's module comes from: a built .wasm, or a patch / C file built on demand. */
export type CDriverSource = { readonly module: string } | { readonly patch: string };

const modules = new Map<string, WebAssembly.Module>();
/** By path, size and mtime: a sweep makes a machine per run and must not re-read and hash the file each time. */
const byStat = new Map<string, WebAssembly.Module>();

/** The compiled module for a source, once per content per process (the build itself is cached on disk). */
export function loadDriverModule(source: CDriverSource): WebAssembly.Module {
  const file = 'module' in source ? source.module : source.patch;
  let statKey: string | undefined;
  try {
    const st = statSync(file);
    statKey = `${'module' in source ? 'm' : 'p'}:${file}:${st.size}:${st.mtimeMs}`;
  } catch {
    statKey = undefined;
  }
  const known = statKey === undefined ? undefined : byStat.get(statKey);
  if (known !== undefined) return known;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new DriverBuildError('input', `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const key = `${'module' in source ? 'm' : 'p'}:${createHash('sha256').update(bytes).digest('hex')}`;
  let module = modules.get(key);
  if (module === undefined) {
    const wasm = 'module' in source ? bytes : buildDriver(file, KERNEL_IMPORT_NAMES).wasm;
    if ('module' in source) checkImports(file, wasm, KERNEL_IMPORT_NAMES);
    module = new WebAssembly.Module(wasm);
    modules.set(key, module);
  }
  if (statKey !== undefined) byStat.set(statKey, module);
  return module;
}

type CFunction = (...args: (number | bigint)[]) => number | bigint;

/** One instance of a module, shared by the machines that use it (instantiating per machine costs more than a run). */
interface SharedInstance {
  readonly ctx: ImportContext;
  readonly memory: WebAssembly.Memory;
  /** The memory as instantiated, and the stack pointer: restored for each new machine. */
  readonly image: Uint8Array;
  readonly stackPointer: WebAssembly.Global;
  readonly stackTop: number | bigint;
  readonly layout: number;
  readonly arena: number;
  readonly arenaSize: number;
  readonly fns: Map<string, CFunction>;
  readonly literals: Map<number, string>;
}

const instances = new Map<WebAssembly.Module, SharedInstance>();

function sharedInstance(module: WebAssembly.Module): SharedInstance {
  let shared = instances.get(module);
  if (shared === undefined) {
    const ctx = { depth: 0 } as ImportContext;
    const ex = new WebAssembly.Instance(module, kernelImports(ctx)).exports;
    const num = (name: string): number => (ex[name] as () => number)();
    const memory = ex.memory as WebAssembly.Memory;
    const stackPointer = ex.__stack_pointer as WebAssembly.Global;
    shared = {
      ctx,
      memory,
      image: new Uint8Array(memory.buffer).slice(),
      stackPointer,
      stackTop: stackPointer.value,
      layout: num('__vs_layout'),
      arena: num('__vs_arena'),
      arenaSize: num('__vs_arena_size'),
      literals: new Map(),
      fns: new Map(
        Object.entries(ex).flatMap(([n, f]) =>
          typeof f === 'function' && !n.startsWith('__vs_') ? [[n, f as CFunction]] : [],
        ),
      ),
    };
    instances.set(module, shared);
  }
  return shared;
}

/**
 * The `c` driver variant: the functions a patch adds, compiled from its C to WebAssembly, in place of the
 * TypeScript port's methods of the same names; everything the patch does not add (amd_viommu_init's
 * surroundings, the kernel, the hardware) stays the model. A method the module does not export runs the
 * port's version. See README "Running the patch's own C".
 */
export class ViommuPatchC extends ViommuPatchV3 {
  private readonly ptrs: WasmPointers;
  private readonly shared: SharedInstance;
  private readonly sync = (): void => this.pullAll();

  constructor(d: AmdDriver, module: WebAssembly.Module) {
    super(d);
    const shared = sharedInstance(module);
    // A fresh machine: the module's memory and stack as instantiated (an oops leaves both as they were).
    new Uint8Array(shared.memory.buffer).set(shared.image);
    shared.stackPointer.value = shared.stackTop;
    this.shared = shared;
    this.ptrs = new WasmPointers(shared.memory, shared.layout, shared.arena, shared.arenaSize, shared.literals);
  }

  /** The functions the module provides (the patch's added functions). */
  get compiledFunctions(): string[] {
    return [...this.shared.fns.keys()];
  }

  private pushAll(): void {
    for (const iommu of this.d.iommus) this.ptrs.push(iommu);
  }

  private pullAll(): void {
    for (const iommu of this.d.iommus) this.ptrs.pull(iommu);
  }

  /**
   * Calls into the C: mirrors written first, read back after, even when an oops unwinds (the C's frames
   * are popped from the call path then, as the kernel's stack is gone).
   */
  private invoke(name: string, args: (number | bigint)[]): number | bigint {
    const fn = this.shared.fns.get(name)!;
    const ctx = this.shared.ctx;
    const outer = { d: ctx.d, ptrs: ctx.ptrs, depth: ctx.depth, sync: ctx.sync };
    Object.assign(ctx, { d: this.d, ptrs: this.ptrs, depth: 0, sync: this.sync });
    const sp = this.shared.stackPointer.value;
    this.pushAll();
    try {
      return fn(...args);
    } catch (e) {
      if (e instanceof KernelOops || e instanceof ShimError || !(e instanceof WebAssembly.RuntimeError)) throw e;
      throw new ShimError(`${name} trapped (${e.message}): the C dereferenced a pointer outside its memory`);
    } finally {
      for (; ctx.depth > 0; ctx.depth--) this.d.k.faults.path.leave();
      this.shared.stackPointer.value = sp;
      this.pullAll();
      Object.assign(ctx, outer);
    }
  }

  private has(name: string): boolean {
    return this.shared.fns.has(name);
  }

  private sizeT(size: bigint): number {
    if (size < 0n || size >= 2n ** 32n) throw new ShimError(`size_t 0x${size.toString(16)} does not fit wasm32`);
    return Number(size);
  }

  override amd_iommu_flush_private_vm_region(
    iommu: AmdIommu,
    pdom: KPtr<ProtectionDomain>,
    address: bigint,
    size: bigint,
  ): number {
    if (!this.has('amd_iommu_flush_private_vm_region'))
      return super.amd_iommu_flush_private_vm_region(iommu, pdom, address, size);
    return Number(
      this.invoke('amd_iommu_flush_private_vm_region', [
        this.ptrs.iommuPtr(iommu),
        this.ptrs.pdomPtr(pdom),
        BigInt.asIntN(64, address),
        this.sizeT(size),
      ]),
    );
  }

  override viommu_priv_alloc_map_flush(
    iommu: AmdIommu | null,
    iova: bigint,
    size: bigint,
    gfp: Gfp,
  ): { ret: number; out_va: bigint | null } {
    if (!this.has('viommu_priv_alloc_map_flush')) return super.viommu_priv_alloc_map_flush(iommu, iova, size, gfp);
    const out = this.ptrs.alloc(4);
    const ret = Number(
      this.invoke('viommu_priv_alloc_map_flush', [
        this.ptrs.iommuPtr(iommu),
        BigInt.asIntN(64, iova),
        this.sizeT(size),
        gfp,
        out,
      ]),
    );
    return { ret, out_va: this.ptrs.vaOf(this.ptrs.view.getUint32(out, true)) };
  }

  override viommu_priv_unmap_flush_free(
    iommu: AmdIommu | null,
    iova: bigint,
    size: bigint,
    cpu_va: bigint | null,
  ): number {
    if (!this.has('viommu_priv_unmap_flush_free')) return super.viommu_priv_unmap_flush_free(iommu, iova, size, cpu_va);
    return Number(
      this.invoke('viommu_priv_unmap_flush_free', [
        this.ptrs.iommuPtr(iommu),
        BigInt.asIntN(64, iova),
        this.sizeT(size),
        this.ptrs.handleOf(cpu_va),
      ]),
    );
  }

  override alloc_private_subregion(iommu: AmdIommu, base: bigint, size: bigint): bigint | null {
    if (!this.has('alloc_private_subregion')) return super.alloc_private_subregion(iommu, base, size);
    const r = this.invoke('alloc_private_subregion', [
      this.ptrs.iommuPtr(iommu),
      BigInt.asIntN(64, base),
      this.sizeT(size),
    ]);
    return this.ptrs.vaOf(Number(r));
  }

  override viommu_private_space_uninit(iommu: AmdIommu): void {
    if (!this.has('viommu_private_space_uninit')) return super.viommu_private_space_uninit(iommu);
    this.invoke('viommu_private_space_uninit', [this.ptrs.iommuPtr(iommu)]);
  }

  override viommu_private_space_init(iommu: AmdIommu): number {
    if (!this.has('viommu_private_space_init')) return super.viommu_private_space_init(iommu);
    return Number(this.invoke('viommu_private_space_init', [this.ptrs.iommuPtr(iommu)]));
  }
}

import type { InjectionPlan, Schedule } from '../runtime/fault/inject.js';
import type { IommuConfig, MachineConfig } from '../runtime/exec/machine.js';
import { Errno, isErrnoName } from '../runtime/linux/errno.js';
import { IOMMU_READ, IOMMU_WRITE } from '../runtime/pt/defs.js';
import { expectedOneOf, type SpecError } from './errors.js';
import type { LoadedSpec } from './load.js';
import type { AllocRef, Plan, PlanStep, PlanSweep, StepAction, StepExpect } from './plan.js';
import type { InvariantName } from '../runtime/check/invariants.js';
import { DRIVER_VARIANTS, variantNames } from '../runtime/linux/amd/variants/index.js';
import { ALL_SITE_NAMES, unknownSiteSegment } from './sites.js';
import type { PathSegment } from './source.js';
import type { Address, Fault, Spec } from './spec.generated.js';
import { parseAddress } from './units.js';

const DEFAULT_PCI = { vendorCapability: true, vfBar: 0xf000_0000_0001n, vfCntlBar: 0xf100_0000_0001n };
const PROT: Record<string, number> = { r: IOMMU_READ, w: IOMMU_WRITE, rw: IOMMU_READ | IOMMU_WRITE, none: 0 };

/** What a call needs besides the IOMMU. */
const CALL_ARGS: Record<string, readonly ('devid' | 'iova' | 'pa' | 'size' | 'prot')[]> = {
  amd_viommu_init: [],
  viommu_private_space_init: [],
  viommu_private_space_uninit: [],
  set_iommu_dte: [],
  amd_iommu_completion_wait: [],
  iommu_flush_dte: ['devid'],
  amd_iommu_flush_private_vm_region: ['iova', 'size'],
  iommu_map: ['iova', 'pa', 'size', 'prot'],
  iommu_unmap: ['iova', 'size'],
  attach_device: ['devid'],
  detach_device: ['devid'],
};

class Compiler {
  readonly errors: SpecError[] = [];

  constructor(private readonly src: LoadedSpec) {}

  error(path: readonly PathSegment[], title: string, fixme: string, key = false): void {
    this.errors.push({ ...this.src.spanOf(path, key), title, fixme });
  }

  address(value: Address, path: readonly PathSegment[]): bigint {
    const v = parseAddress(value);
    if (v === undefined) {
      this.error(path, `value ${String(value)} does not fit in 64 bits`, 'expected at most 0xffffffffffffffff');
      return 0n;
    }
    return v;
  }

  addressOrAlloc(value: Address | { alloc: string; nth?: number; offset?: Address }, path: readonly PathSegment[]): bigint | AllocRef {
    if (typeof value === 'object') {
      this.site(value.alloc, [...path, 'alloc']);
      return { alloc: value.alloc, nth: value.nth ?? 1, offset: value.offset === undefined ? 0n : this.address(value.offset, [...path, 'offset']) };
    }
    return this.address(value, path);
  }

  site(pattern: string, path: readonly PathSegment[]): void {
    const bad = unknownSiteSegment(pattern);
    if (bad) this.error(path, `no failure point or function is named \`${bad}\``, expectedOneOf(bad.replace(/\[\d+\]$/, ''), ALL_SITE_NAMES));
  }

  machine(spec: Spec): MachineConfig {
    const hw = spec.hardware;
    const nodes = hw.memory.map((m, i) => {
      const base = this.address(m.base, ['hardware', 'memory', i, 'base']);
      const size = this.address(m.size, ['hardware', 'memory', i, 'size']);
      if (base % 4096n !== 0n) this.error(['hardware', 'memory', i, 'base'], 'memory base is not page aligned', 'expected a multiple of 4K');
      if (size === 0n || size % 4096n !== 0n) this.error(['hardware', 'memory', i, 'size'], 'memory size is not a whole number of pages', 'expected a non-zero multiple of 4K');
      return { id: m.node, base, size };
    });
    const sorted = [...nodes].sort((a, b) => (a.base < b.base ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.base < sorted[i - 1]!.base + sorted[i - 1]!.size) this.error(['hardware', 'memory'], `memory of nodes ${sorted[i - 1]!.id} and ${sorted[i]!.id} overlaps`, 'give each node its own range');
    }
    const ids = new Set(nodes.map((n) => n.id));
    if (ids.size !== nodes.length) this.error(['hardware', 'memory'], 'a NUMA node is described twice', 'one entry per node');
    const iommus: IommuConfig[] = hw.iommus.map((c, i) => {
      const [seg, bus, devfn] = [c.devid.slice(0, 4), c.devid.slice(5, 7), c.devid.slice(8)];
      const [dev, fn] = devfn.split('.') as [string, string];
      const node = c.node ?? 0;
      if (!ids.has(node)) this.error(['hardware', 'iommus', i, 'node'], `no memory on node ${node}`, `expected one of: ${[...ids].join(', ')}`);
      if (parseInt(dev, 16) > 0x1f) this.error(['hardware', 'iommus', i, 'devid'], `device number 0x${dev} is above 0x1f`, 'expected seg:bus:dev.fn with dev at most 1f');
      const processor = c.processor ?? 'immediate';
      return {
        seg: parseInt(seg, 16),
        devid: (parseInt(bus, 16) << 8) | (parseInt(dev, 16) << 3) | parseInt(fn, 16),
        node,
        hats: c.hats ?? 4,
        npCache: c.npcache ?? false,
        viommu: c.viommu ?? true,
        processor: processor === 'immediate' ? { kind: 'immediate' } : 'lag' in processor ? { kind: 'lag', polls: processor.lag } : { kind: 'stalled', after: processor.stalled.after ?? 0 },
        cmdBufEntries: c.ring_entries ?? 512,
        pci: {
          vendorCapability: c.pci?.vendor_capability ?? DEFAULT_PCI.vendorCapability,
          vfBar: c.pci?.vf_bar === undefined ? DEFAULT_PCI.vfBar : this.address(c.pci.vf_bar, ['hardware', 'iommus', i, 'pci', 'vf_bar']),
          vfCntlBar: c.pci?.vf_cntl_bar === undefined ? DEFAULT_PCI.vfCntlBar : this.address(c.pci.vf_cntl_bar, ['hardware', 'iommus', i, 'pci', 'vf_cntl_bar']),
        },
      };
    });
    const seen = new Set<string>();
    hw.iommus.forEach((c, i) => {
      if (seen.has(c.devid)) this.error(['hardware', 'iommus', i, 'devid'], `two IOMMUs are ${c.devid}`, 'give each IOMMU its own devid');
      seen.add(c.devid);
    });
    const variant = hw.driver?.variant ?? 'v3';
    if (!DRIVER_VARIANTS[variant]) this.error(['hardware', 'driver', 'variant'], `no driver variant is named \`${variant}\``, expectedOneOf(variant, variantNames()));
    const bootBytes = 0x20_6000n; // device table, ring, event log, semaphore: what boot takes from node 0
    const node0 = nodes.find((n) => n.id === 0) ?? nodes[0];
    if (node0 && node0.size < bootBytes) this.error(['hardware', 'memory'], `the first node has ${node0.size} bytes`, `boot needs at least ${bootBytes} bytes (0x206000) on it`);
    return {
      nodes,
      iommus,
      driver: { variant, pgsize4k: hw.driver?.pgsize_4k ?? false, viommu: hw.driver?.viommu ?? true },
      faults: (spec.faults ?? []).map((f, i) => this.fault(f, i, spec)),
    };
  }

  fault(f: Fault, i: number, spec: Spec): InjectionPlan {
    const path = ['faults', i];
    if (f.site !== undefined) this.site(f.site, [...path, 'site']);
    const schedule: Schedule =
      f.nth !== undefined
        ? { mode: 'nth', n: f.nth }
        : f.every !== undefined
          ? { mode: 'every', n: f.every }
          : f.first !== undefined
            ? { mode: 'first', count: f.first }
            : f.probability !== undefined
              ? { mode: 'probability', percent: f.probability.percent, seed: f.probability.seed }
              : { mode: 'always' };
    const stepIndex = (name: string | undefined, key: 'from' | 'to'): number | undefined => {
      if (name === undefined) return undefined;
      const index = spec.steps.findIndex((s) => s.name === name);
      if (index < 0) this.error([...path, 'window', key], `no step is named \`${name}\``, expectedOneOf(name, spec.steps.flatMap((s) => (s.name ? [s.name] : []))));
      return index;
    };
    const window = f.window ? { fromStep: stepIndex(f.window.from, 'from'), toStep: stepIndex(f.window.to, 'to') } : undefined;
    return {
      ...(f.site === undefined ? {} : { site: f.site }),
      schedule,
      ...(window ? { window } : {}),
      ...(f.min_order === undefined ? {} : { minOrder: f.min_order }),
      ...(f.errno === undefined ? {} : { errno: -Errno[f.errno] }),
      ...(f.times === undefined ? {} : { times: f.times }),
    };
  }

  sweep(spec: Spec): PlanSweep {
    const sw = spec.sweep!;
    if (spec.faults?.length) this.error(['faults'], 'a sweep spec plans its own faults', 'remove `faults:` or `sweep:`', true);
    const sites = sw.sites === undefined || sw.sites === 'all' ? [] : typeof sw.sites === 'string' ? [sw.sites] : sw.sites;
    sites.forEach((s, i) => this.site(s, typeof sw.sites === 'string' ? ['sweep', 'sites'] : ['sweep', 'sites', i]));
    let fromStep: number | undefined;
    if (sw.from !== undefined) {
      fromStep = spec.steps.findIndex((s) => s.name === sw.from);
      if (fromStep < 0) this.error(['sweep', 'from'], `no step is named \`${sw.from}\``, expectedOneOf(sw.from, spec.steps.flatMap((s) => (s.name ? [s.name] : []))));
    }
    const translations = new Map<number, number[]>();
    (sw.errno_translations ?? []).forEach((t, i) => {
      const [from, to] = t.split('->') as [string, string];
      for (const name of [from, to]) if (!isErrnoName(name)) this.error(['sweep', 'errno_translations', i], `unknown errno \`${name}\``, expectedOneOf(name, Object.keys(Errno)));
      if (isErrnoName(from) && isErrnoName(to)) translations.set(-Errno[from], [...(translations.get(-Errno[from]) ?? []), -Errno[to]]);
    });
    return {
      scope: { sites, ...(fromStep === undefined ? {} : { fromStep }), maxRuns: sw.max_runs ?? 2000 },
      invariants: { disabled: new Set(Object.keys(sw.disable ?? {}) as InvariantName[]), ...(sw.errno_translations ? { errnoTranslations: translations } : {}) },
      expect: sw.expect ?? [],
    };
  }

  ret(value: number | string, path: readonly PathSegment[]): number | 'oops' {
    if (typeof value === 'number') return value;
    if (value === 'oops') return 'oops';
    const name = value.replace(/^-/, '');
    if (!isErrnoName(name)) {
      this.error(path, `unknown errno \`${value}\``, expectedOneOf(name, Object.keys(Errno)));
      return 0;
    }
    return -Errno[name];
  }

  steps(spec: Spec, iommuCount: number): PlanStep[] {
    const names = new Set<string>();
    return spec.steps.map((s, i): PlanStep => {
      const path = ['steps', i];
      const name = s.name ?? `#${i + 1}`;
      if (s.name) {
        if (names.has(s.name)) this.error([...path, 'name'], `two steps are named \`${s.name}\``, 'step names must be unique');
        names.add(s.name);
      }
      let action: StepAction;
      const checkIommu = (iommu: number, p: readonly PathSegment[]): number => {
        if (iommu >= iommuCount) this.error(p, `there is no IOMMU ${iommu}`, `the hardware has ${iommuCount}; indices start at 0`);
        return iommu;
      };
      if (s.call !== undefined) {
        const iommu = checkIommu(s.iommu ?? 0, [...path, s.iommu === undefined ? 'call' : 'iommu']);
        const args = s.args ?? {};
        for (const needed of CALL_ARGS[s.call] ?? []) {
          if (args[needed] === undefined) this.error([...path, s.args ? 'args' : 'call'], `${s.call} needs \`args.${needed}\``, `add \`${needed}:\` under args`);
        }
        action = {
          kind: 'call',
          fn: s.call,
          iommu,
          ...(args.devid === undefined ? {} : { devid: args.devid }),
          ...(args.iova === undefined ? {} : { iova: this.address(args.iova, [...path, 'args', 'iova']) }),
          ...(args.pa === undefined ? {} : { pa: this.addressOrAlloc(args.pa, [...path, 'args', 'pa']) }),
          ...(args.size === undefined ? {} : { size: this.address(args.size, [...path, 'args', 'size']) }),
          ...(args.prot === undefined ? {} : { prot: PROT[args.prot]! }),
        };
      } else {
        const kind = s.viommu_access ? 'viommu_access' : 'dma';
        const a = (s.viommu_access ?? s.dma)!;
        if (kind === 'dma' && a.devid === undefined) this.error([...path, kind], 'a DMA needs the device', 'add `devid:`');
        action = { kind, iommu: checkIommu(a.iommu ?? 0, [...path, kind]), ...(a.devid === undefined ? {} : { devid: a.devid }), iova: this.address(a.iova, [...path, kind, 'iova']), access: a.access };
      }
      let expect: StepExpect | undefined;
      if (s.expect !== undefined) {
        const ep = [...path, 'expect'];
        if (typeof s.expect === 'object') {
          if (action.kind === 'call') this.error(ep, 'a call returns a value, not a translation', 'expected 0, an errno such as -ENOMEM, or oops');
          const e = s.expect;
          expect = {
            kind: 'access',
            ...(e.pa === undefined ? {} : { pa: this.addressOrAlloc(e.pa, [...ep, 'pa']) }),
            ...(e.fault === undefined ? {} : { fault: e.fault }),
            ...(e.from_iotlb === undefined ? {} : { fromIotlb: e.from_iotlb }),
            ...(e.stale === undefined ? {} : { stale: e.stale }),
          };
        } else {
          if (action.kind !== 'call' && s.expect !== 'oops') this.error(ep, 'an access has a translation, not a return value', 'expected a mapping such as {pa: 0x401000} or {fault: not_present}');
          expect = { kind: 'ret', ret: this.ret(s.expect, ep) };
        }
      }
      return { index: i, name, action, repeat: s.repeat ?? 1, ...(expect ? { expect } : {}), path };
    });
  }
}

/** Compiles a validated spec into a plan, or the semantic errors the schema cannot express. */
export function compileSpec(src: LoadedSpec): { ok: true; plan: Plan } | { ok: false; errors: SpecError[] } {
  const c = new Compiler(src);
  const spec = src.spec;
  const machine = c.machine(spec);
  const steps = c.steps(spec, spec.hardware.iommus.length);
  const expect = spec.expect ?? {};
  const walk = (v: unknown, path: PathSegment[]): void => {
    if (v && typeof v === 'object') {
      if ('alloc' in v && typeof (v as { alloc: unknown }).alloc === 'string') c.site((v as { alloc: string }).alloc, [...path, 'alloc']);
      for (const [k, x] of Object.entries(v)) walk(x, [...path, Array.isArray(v) ? Number(k) : k]);
    }
  };
  walk(expect, ['expect']);
  const sweep = spec.sweep ? c.sweep(spec) : undefined;
  if (c.errors.length) return { ok: false, errors: c.errors };
  return { ok: true, plan: { id: src.id, file: src.file, name: spec.name, tags: spec.tags ?? [], machine, steps, expect, golden: spec.golden ?? false, source: src, ...(sweep ? { sweep } : {}) } };
}

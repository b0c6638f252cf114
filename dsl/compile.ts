import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { InjectionPlan, Schedule } from '../runtime/fault/inject.js';
import { Errno, isErrnoName } from '../runtime/linux/errno.js';
import {
  EXPECT_KEYS,
  type AllocMatcher,
  type CommandMatcher,
  type DriverObjectExpectation,
  type ExpectKey,
  type GuestExpectation,
  type GuestQueueExpectation,
  type NamedValue,
  type ExpectationOf,
  type LogMatcher,
  type MemtypeExpectation,
  type PteExpectation,
  type RangeExpectation,
  type TextMatcher,
  type SweepRowExpectation,
} from '../runtime/plan/expect.js';
import type {
  AddressOrAlloc,
  ArgValue,
  Plan,
  PlanStep,
  PlanSweep,
  SourceRef,
  StepAction,
  StepExpect,
  ValueExpr,
} from '../runtime/plan/plan.js';
import type { AmdConfig, AmdIommuConfig } from '../runtime/vendor/amd/config.js';
import { PROT, PROT_FLAGS } from '../runtime/vendor/amd/entry-points.js';
import { PtFeature } from '../runtime/pt/defs.js';
import { encodeGuestCommand, type GuestCommandForm } from '../runtime/vendor/amd/guest-commands.js';
import type { ArgType, ProtFlag } from '../runtime/vendor/args.js';
import { VENDORS } from '../runtime/vendors/index.js';
import { expectedOneOf, type SpecError } from './errors.js';
import type { LoadedSpec } from './load.js';
import { ALL_SITE_NAMES, unknownSiteSegment } from './sites.js';
import type { PathSegment } from './source.js';
import type {
  Address,
  AddressOrAlloc as SpecAddressOrAlloc,
  AllocMatcher as SpecAllocMatcher,
  CommandMatcher as SpecCommandMatcher,
  Expect,
  Fault,
  GuestCommand,
  GuestCommands,
  LogLine,
  Spec,
  Value as SpecValue,
} from './spec.generated.js';
import { parseAddress } from './units.js';
import { ExpressionError, hasVariables, isExpressionString, parseExpression } from './value.js';
import { bindVariables, isLoopValue, variablesOf, type LoopValue } from '../runtime/plan/value.js';

/** Firmware-assigned BARs: each IOMMU its own, so two IOMMUs never reserve the same range. */
const DEFAULT_PCI = {
  vendorCapability: true,
  vfBar: (index: number) => 0xf000_0000_0001n + BigInt(index) * 0x1000_0000n,
  vfCntlBar: (index: number) => 0xf100_0000_0001n + BigInt(index) * 0x40_0000n,
};
const VENDOR = VENDORS.amd;
const ENTRY_POINTS = new Map(VENDOR.entryPoints.map((e) => [e.name, e]));

/** The most plain steps `for:` loops may write out; `repeat: {count, var}` runs longer ones lazily. */
const MAX_EXPANDED_STEPS = 100_000;
/**
 * Runs a sweep may make unless its spec says otherwise: every table allocation of an 8 GiB map in 4 KiB pages
 * (4104 points) fits, and the spec's wall-time budget still stops a sweep whose runs are slow.
 */
const DEFAULT_MAX_RUNS = 10_000;

/** The loop variables bound where a step is written, the name suffix they give it, and its repeat variable. */
interface LoopEnv {
  readonly vars: ReadonlyMap<string, bigint>;
  readonly suffix: readonly string[];
  readonly repeatVar?: string;
}

type Step = Spec['steps'][number];

/** `foo.yaml` -> `foo.golden.json`; a case `bar` of it -> `foo.bar.golden.json`. */
export function goldenPath(specFile: string, caseName: string | undefined): string {
  const stem = basename(specFile).replace(/\.ya?ml$/, '');
  return join(dirname(specFile), `${stem}${caseName ? `.${caseName}` : ''}.golden.json`);
}

class Compiler {
  readonly errors: SpecError[] = [];
  /** The driver variant under test, known once the hardware is compiled (calls are checked against it). */
  private variant = 'v3';

  constructor(private readonly src: LoadedSpec) {}

  error(path: readonly PathSegment[], title: string, fixme: string, key = false): void {
    const e = { ...this.src.spanOf(path, key), title, fixme };
    // A step in a loop is compiled once per value: its error is reported once.
    const same = (o: SpecError): boolean =>
      o.file === e.file && o.span.line === e.span.line && o.span.col === e.span.col && o.title === e.title;
    if (!this.errors.some(same)) this.errors.push(e);
  }

  /** A regular expression as written, or a positioned error when JavaScript cannot compile it. */
  regex(pattern: string, path: readonly PathSegment[]): string {
    try {
      new RegExp(pattern);
    } catch (e) {
      this.error(path, `not a regular expression: ${(e as Error).message}`, 'escape the special characters');
    }
    return pattern;
  }

  /** `skip:`, `todo:` and `only:`: at most one of them, since each contradicts the others. */
  marker(spec: Spec): Pick<Plan, 'marker' | 'only'> | undefined {
    const given = (['skip', 'todo', 'only'] as const).filter((k) => spec[k] !== undefined);
    if (given.length > 1) {
      this.error(
        [given[1]!],
        `\`${given[1]}\` contradicts \`${given[0]}\` here`,
        'a spec or case is skipped, todo or only, not more than one of them',
        true,
      );
      return undefined;
    }
    if (spec.only) return { only: this.ref(['only']) };
    if (spec.skip !== undefined) return { marker: { kind: 'skip', reason: spec.skip, at: this.ref(['skip']) } };
    if (spec.todo !== undefined) return { marker: { kind: 'todo', reason: spec.todo, at: this.ref(['todo']) } };
    return undefined;
  }

  /** Where `path` was written, with its source line, for messages about it after the run. */
  ref(path: readonly PathSegment[]): SourceRef {
    const { file, span } = this.src.spanOf(path);
    return { file, line: span.line, col: span.col, text: this.src.lines(file)[span.line - 1] ?? '' };
  }

  address(value: Address, path: readonly PathSegment[]): bigint {
    const v = parseAddress(value);
    if (v === undefined) {
      this.error(path, `value ${String(value)} does not fit in 64 bits`, 'expected at most 0xffffffffffffffff');
      return 0n;
    }
    return v;
  }

  addressOrAlloc(value: SpecAddressOrAlloc, path: readonly PathSegment[]): AddressOrAlloc {
    if (typeof value === 'object') {
      this.site(value.alloc, [...path, 'alloc']);
      return {
        alloc: value.alloc,
        nth: value.nth ?? 1,
        offset: value.offset === undefined ? 0n : this.address(value.offset, [...path, 'offset']),
        at: this.ref(path),
      };
    }
    return this.address(value, path);
  }

  /** Text with `${expr}` values in it: the literal pieces and the expressions, in order. */
  interpolated(text: string, path: readonly PathSegment[]): (string | ValueExpr)[] {
    // `${...}` here holds an expression, printed into the line; loop variables have no place in expectations.
    const parts: (string | ValueExpr)[] = [];
    let rest = text;
    for (let at = rest.indexOf('${'); at >= 0; at = rest.indexOf('${')) {
      const end = rest.indexOf('}', at);
      if (end < 0) {
        this.error(path, 'a `${` is not closed', 'close the value with `}`, e.g. "pte_root=${table(2, L2, 0x0)}"');
        return [text];
      }
      if (at > 0) parts.push(rest.slice(0, at));
      const inner = rest.slice(at + 2, end).trim();
      if (!inner) this.error(path, 'an empty `${}`', 'write a value inside, e.g. ${table(2, L2, 0x0)}');
      else parts.push(this.value(inner, path));
      rest = rest.slice(end + 1);
    }
    if (rest) parts.push(rest);
    return parts;
  }

  /** The compact form of an expression (dsl/value.ts), or a positioned error and undefined. */
  expression(text: string, path: readonly PathSegment[], example: string): ValueExpr | undefined {
    try {
      return parseExpression(text, {
        at: this.ref(path),
        unknownSite: (glob) => {
          const bad = unknownSiteSegment(glob);
          return bad
            ? {
                title: `no failure point or function is named \`${bad}\``,
                fixme: expectedOneOf(bad.replace(/\[\d+\]$/, ''), ALL_SITE_NAMES()),
              }
            : undefined;
        },
      });
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      this.error(path, `cannot read the expression at character ${e.offset + 1}: ${e.message}`, e.fixme ?? example);
      return undefined;
    }
  }

  /** A value expectation: a literal, an allocation, or an expression over symbols (dsl/value.ts). */
  value(v: SpecValue, path: readonly PathSegment[]): ValueExpr {
    if (typeof v === 'string' && isExpressionString(v)) {
      const e = this.expression(
        v,
        path,
        'e.g. "0x6000000000000401 | table(2, L1, 0x0)" or "0x7000000000000001 | alloc(**/site[0]/**)"',
      );
      if (e !== undefined && variablesOf(e).length)
        this.error(path, 'loop variables are for step arguments and returns', 'state a value without `${...}`');
      return e ?? 0n;
    }
    if (typeof v !== 'object') return this.address(v, path);
    if ('alloc' in v) return this.addressOrAlloc(v, path);
    if ('table' in v)
      return {
        kind: 'table',
        domain: v.table.domain,
        level: v.table.level,
        iova: v.table.iova === undefined ? 0n : this.address(v.table.iova, [...path, 'table', 'iova']),
        at: this.ref(path),
      };
    if ('va' in v) return { kind: 'va', of: this.value(v.va, [...path, 'va']) };
    const [op, terms] = 'or' in v ? (['|', v.or] as const) : (['+', v.add] as const);
    const key = op === '|' ? 'or' : 'add';
    return terms
      .map((t, i) => this.value(t, [...path, key, i]))
      .reduce((a, b): ValueExpr => ({ kind: 'op', op, a, b }));
  }

  site(pattern: string, path: readonly PathSegment[]): void {
    const bad = unknownSiteSegment(pattern);
    if (bad)
      this.error(
        path,
        `no failure point or function is named \`${bad}\``,
        expectedOneOf(bad.replace(/\[\d+\]$/, ''), ALL_SITE_NAMES()),
      );
  }

  machine(spec: Spec): Plan['machine'] {
    // The merged spec was validated standing alone (no `extends`), so these are present.
    const hw = { ...spec.hardware!, memory: spec.hardware!.memory!, iommus: spec.hardware!.iommus! };
    const nodes = hw.memory.map((m, i) => {
      const base = this.address(m.base, ['hardware', 'memory', i, 'base']);
      const size = this.address(m.size, ['hardware', 'memory', i, 'size']);
      if (base % 4096n !== 0n)
        this.error(['hardware', 'memory', i, 'base'], 'memory base is not page aligned', 'expected a multiple of 4K');
      if (size === 0n || size % 4096n !== 0n) {
        this.error(
          ['hardware', 'memory', i, 'size'],
          'memory size is not a whole number of pages',
          'expected a non-zero multiple of 4K',
        );
      }
      return { id: m.node, base, size };
    });
    const sorted = [...nodes].sort((a, b) => (a.base < b.base ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.base < sorted[i - 1]!.base + sorted[i - 1]!.size) {
        this.error(
          ['hardware', 'memory'],
          `memory of nodes ${sorted[i - 1]!.id} and ${sorted[i]!.id} overlaps`,
          'give each node its own range',
        );
      }
    }
    const ids = new Set(nodes.map((n) => n.id));
    if (ids.size !== nodes.length)
      this.error(['hardware', 'memory'], 'a NUMA node is described twice', 'one entry per node');
    const iommus: AmdIommuConfig[] = hw.iommus.map((c, i) => {
      const [seg, bus, devfn] = [c.devid.slice(0, 4), c.devid.slice(5, 7), c.devid.slice(8)];
      const [dev, fn] = devfn.split('.') as [string, string];
      const node = c.node ?? 0;
      if (!ids.has(node))
        this.error(
          ['hardware', 'iommus', i, 'node'],
          `no memory on node ${node}`,
          `expected one of: ${[...ids].join(', ')}`,
        );
      if (parseInt(dev, 16) > 0x1f) {
        this.error(
          ['hardware', 'iommus', i, 'devid'],
          `device number 0x${dev} is above 0x1f`,
          'expected seg:bus:dev.fn with dev at most 1f',
        );
      }
      const processor = c.processor ?? 'immediate';
      return {
        seg: parseInt(seg, 16),
        devid: (parseInt(bus, 16) << 8) | (parseInt(dev, 16) << 3) | parseInt(fn, 16),
        node,
        hats: c.hats ?? 4,
        npCache: c.npcache ?? false,
        gstBufferTrpMode: c.gst_buffer_trp_mode ?? true,
        didMapStores: c.did_map_stores ?? true,
        resetVmmio: c.reset_vmmio ?? 'guest_mmio',
        guestErrorEvent: c.guest_error_event ?? 'viommu_hw_err',
        viommu: c.viommu ?? true,
        processor:
          processor === 'immediate'
            ? { kind: 'immediate' }
            : 'lag' in processor
              ? { kind: 'lag', polls: processor.lag }
              : { kind: 'stalled', after: processor.stalled.after ?? 0 },
        cmdBufEntries: c.ring_entries ?? 512,
        pci: {
          vendorCapability: c.pci?.vendor_capability ?? DEFAULT_PCI.vendorCapability,
          vfBar:
            c.pci?.vf_bar === undefined
              ? DEFAULT_PCI.vfBar(i)
              : this.address(c.pci.vf_bar, ['hardware', 'iommus', i, 'pci', 'vf_bar']),
          vfCntlBar:
            c.pci?.vf_cntl_bar === undefined
              ? DEFAULT_PCI.vfCntlBar(i)
              : this.address(c.pci.vf_cntl_bar, ['hardware', 'iommus', i, 'pci', 'vf_cntl_bar']),
        },
      };
    });
    const seen = new Set<string>();
    hw.iommus.forEach((c, i) => {
      if (seen.has(c.devid))
        this.error(['hardware', 'iommus', i, 'devid'], `two IOMMUs are ${c.devid}`, 'give each IOMMU its own devid');
      seen.add(c.devid);
    });
    const variant = hw.driver?.variant ?? 'v3';
    this.variant = variant;
    const variants = VENDOR.variants().map((v) => v.name);
    if (!variants.includes(variant)) {
      this.error(
        ['hardware', 'driver', 'variant'],
        `no driver variant is named \`${variant}\``,
        expectedOneOf(variant, variants),
      );
    }
    const bootBytes = 0x20_6000n; // device table, ring, event log, semaphore: what boot takes from node 0
    const node0 = nodes.find((n) => n.id === 0) ?? nodes[0];
    if (node0 && node0.size < bootBytes) {
      this.error(
        ['hardware', 'memory'],
        `the first node has ${node0.size} bytes`,
        `boot needs at least ${bootBytes} bytes (0x206000) on it`,
      );
    }
    const source = this.driverSource(hw.driver, variant);
    const vendor: AmdConfig = {
      kind: 'amd',
      iommus,
      driver: {
        variant,
        pgsize4k: hw.driver?.pgsize_4k ?? false,
        viommu: hw.driver?.viommu ?? true,
        ...(source ? { source } : {}),
        ...(hw.driver?.debug_generic_pt ? { debugGenericPt: true } : {}),
      },
    };
    return { nodes, vendor };
  }

  /** The `c` variant's module or patch, relative to the spec's file; exactly one, and only for `c`. */
  driverSource(
    driver: { module?: string; patch?: string } | undefined,
    variant: string,
  ): { module: string } | { patch: string } | undefined {
    const given = (['module', 'patch'] as const).filter((k) => driver?.[k] !== undefined);
    if (variant !== 'c') {
      for (const k of given)
        this.error(['hardware', 'driver', k], `${k} is for driver variant c only`, 'set variant: c, or remove it');
      return undefined;
    }
    if (given.length !== 1) {
      this.error(
        ['hardware', 'driver', 'variant'],
        given.length ? 'both module and patch are given' : 'driver variant c needs the C to run',
        'give hardware.driver.patch (a patch or .c file, built on demand) or hardware.driver.module (a .wasm from build-driver)',
      );
      return undefined;
    }
    const k = given[0]!;
    const file = resolve(dirname(this.src.file), driver![k]!);
    if (!existsSync(file))
      this.error(
        ['hardware', 'driver', k],
        `no file ${driver![k]!} beside the spec`,
        'give a path relative to the spec file',
      );
    return k === 'module' ? { module: file } : { patch: file };
  }

  /** The names of the steps as compiled (loops written out), for references to a step by name. */
  private stepNames: readonly string[] = [];

  stepIndex(name: string, path: readonly PathSegment[]): number {
    const index = this.stepNames.indexOf(name);
    if (index < 0)
      this.error(
        path,
        `no step is named \`${name}\``,
        expectedOneOf(
          name,
          this.stepNames.filter((n) => !n.startsWith('#')),
        ),
      );
    return index;
  }

  fault(f: Fault, i: number): InjectionPlan {
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
    const window = f.window
      ? {
          ...(f.window.from === undefined
            ? {}
            : { fromStep: this.stepIndex(f.window.from, [...path, 'window', 'from']) }),
          ...(f.window.to === undefined ? {} : { toStep: this.stepIndex(f.window.to, [...path, 'window', 'to']) }),
        }
      : undefined;
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
    if (spec.faults?.length)
      this.error(['faults'], 'a sweep spec plans its own faults', 'remove `faults:` or `sweep:`', true);
    const sites =
      sw.sites === undefined || sw.sites === 'all' ? [] : typeof sw.sites === 'string' ? [sw.sites] : sw.sites;
    sites.forEach((s, i) => this.site(s, typeof sw.sites === 'string' ? ['sweep', 'sites'] : ['sweep', 'sites', i]));
    const fromStep = sw.from === undefined ? undefined : this.stepIndex(sw.from, ['sweep', 'from']);
    const translations = new Map<number, number[]>();
    (sw.errno_translations ?? []).forEach((t, i) => {
      const [from, to] = t.split('->') as [string, string];
      for (const name of [from, to]) {
        if (!isErrnoName(name))
          this.error(
            ['sweep', 'errno_translations', i],
            `unknown errno \`${name}\``,
            expectedOneOf(name, Object.keys(Errno)),
          );
      }
      if (isErrnoName(from) && isErrnoName(to))
        translations.set(-Errno[from], [...(translations.get(-Errno[from]) ?? []), -Errno[to]]);
    });
    const expect: SweepRowExpectation[] = (sw.expect ?? []).map((e, i) => {
      const p = ['sweep', 'expect', i];
      return {
        point: e.point,
        ...(e.steps === undefined ? {} : { steps: e.steps }),
        ...(e.oops === undefined ? {} : { oops: e.oops }),
        ...(e.violations === undefined ? {} : { violations: e.violations }),
        ...(e.expect === undefined ? {} : { expect: this.expectations(e.expect, [...p, 'expect']) }),
        at: this.ref(p),
        stepsAt: this.ref([...p, 'steps']),
        oopsAt: this.ref([...p, 'oops']),
        violationsAt: this.ref([...p, 'violations']),
      };
    });
    return {
      scope: { sites, ...(fromStep === undefined ? {} : { fromStep }), maxRuns: sw.max_runs ?? DEFAULT_MAX_RUNS },
      invariants: {
        disabled: Object.keys(sw.disable ?? {}),
        ...(sw.errno_translations
          ? { enabled: ['errno_discipline'], errnoTranslations: [...translations.entries()] }
          : {}),
      },
      expect,
      columns: sw.columns ?? [],
      at: this.ref(['sweep']),
      maxRunsAt: this.ref(['sweep', 'max_runs']),
    };
  }

  ret(value: number | string, path: readonly PathSegment[]): ValueExpr | 'oops' | 'void' {
    if (typeof value === 'number') return BigInt(value);
    if (value === 'oops' || value === 'void') return value;
    if (!/^-?E/.test(value)) return isExpressionString(value) ? this.value(value, path) : this.address(value, path);
    const name = value.replace(/^-/, '');
    if (!isErrnoName(name)) {
      this.error(path, `unknown errno \`${value}\``, expectedOneOf(name, Object.keys(Errno)));
      return 0n;
    }
    return BigInt(-Errno[name]);
  }

  /** One argument of an entry point, by its declared type. */
  arg(type: ArgType, value: unknown, path: readonly PathSegment[], env: LoopEnv): ArgValue {
    if (hasVariables(value)) return this.loopArg(value, path, env);
    switch (type) {
      case 'devid':
      case 'u16':
        return value as number;
      case 'address':
        return this.address(value as Address, path);
      case 'addressOrAlloc':
        return this.addressOrAlloc(value as SpecAddressOrAlloc, path);
      case 'prot':
        return typeof value === 'string'
          ? PROT[value]!
          : (value as ProtFlag[]).reduce((prot, f) => prot | PROT_FLAGS[f], 0);
      case 'lg2':
      case 'pt_level':
        return value as number;
      case 'pt_features':
        return (value as (keyof typeof PtFeature)[]).reduce((bits, f) => bits | PtFeature[f], 0);
      case 'queue_type':
        return value as string;
      case 'queue_flags':
        return [...(value as string[])].sort().join(',');
      default:
        throw new Error(`no compiler for argument type ${String(type satisfies never)}`);
    }
  }

  call(s: Step, path: readonly PathSegment[], iommu: number, env: LoopEnv): StepAction {
    const fn = s.call!;
    const entry = ENTRY_POINTS.get(fn)!;
    if (entry.variants && !entry.variants.includes(this.variant))
      this.error(
        [...path, 'call'],
        `${fn} does not exist in driver variant \`${this.variant}\``,
        `set hardware.driver.variant to ${entry.variants.map((v) => `\`${v}\``).join(' or ')}`,
      );
    const given = (s.args ?? {}) as Record<string, unknown>;
    for (const [name, def] of Object.entries(entry.args)) {
      if (def.required && given[name] === undefined)
        this.error([...path, s.args ? 'args' : 'call'], `${fn} needs \`args.${name}\``, `add \`${name}:\` under args`);
    }
    const args: Record<string, ArgValue> = {};
    for (const [name, value] of Object.entries(given)) {
      const def = entry.args[name];
      if (def && value !== undefined) args[name] = this.arg(def.type, value, [...path, 'args', name], env);
    }
    return { kind: 'call', fn, iommu, args };
  }

  /** A guest's command submission: each command compiled to its four words. */
  guestCommands(
    g: GuestCommands,
    path: readonly PathSegment[],
    checkIommu: (iommu: number, p: readonly PathSegment[]) => number,
  ): StepAction {
    const iommu = checkIommu(g.iommu ?? 0, [...path, g.iommu === undefined ? 'gid' : 'iommu']);
    if (g.tail !== undefined && g.tail % 16 !== 0)
      this.error(
        [...path, 'tail'],
        `tail 0x${g.tail.toString(16)} is not a multiple of 16`,
        'the tail is a byte offset of 16-byte commands',
      );
    const commands = g.commands.map((c, i) => encodeGuestCommand(this.guestCommand(c, [...path, 'commands', i])));
    return { kind: 'guest_commands', iommu, gid: g.gid, commands, ...(g.tail === undefined ? {} : { tail: g.tail }) };
  }

  guestCommand(c: GuestCommand, path: readonly PathSegment[]): GuestCommandForm {
    if (Array.isArray(c)) {
      const words = c.map((w, i) => {
        const v = typeof w === 'number' ? BigInt(w) : parseAddress(w);
        if (v === undefined || v > 0xffff_ffffn)
          this.error([...path, i], `word ${String(w)} does not fit in 32 bits`, 'expected at most 0xffffffff');
        return Number(v ?? 0n);
      });
      return { op: 'raw', words: words as [number, number, number, number] };
    }
    const size = (v: Address, p: readonly PathSegment[]): bigint => {
      const n = this.address(v, p);
      if (n === 0n) this.error(p, 'an invalidation of 0 bytes', 'expected a size of at least 1 byte');
      return n;
    };
    if ('invalidate_iommu_pages' in c) {
      const x = c.invalidate_iommu_pages;
      const p = [...path, 'invalidate_iommu_pages'];
      return {
        op: 'invalidate_iommu_pages',
        domid: x.domid,
        address: this.address(x.address, [...p, 'address']),
        size: size(x.size, [...p, 'size']),
        pasid: x.pasid ?? 0,
        gn: x.gn ?? false,
      };
    }
    if ('invalidate_devtab_entry' in c)
      return { op: 'invalidate_devtab_entry', devid: c.invalidate_devtab_entry.devid };
    if ('invalidate_iotlb_pages' in c) {
      const x = c.invalidate_iotlb_pages;
      const p = [...path, 'invalidate_iotlb_pages'];
      return {
        op: 'invalidate_iotlb_pages',
        devid: x.devid,
        address: this.address(x.address, [...p, 'address']),
        size: size(x.size, [...p, 'size']),
        qdep: x.qdep ?? 0,
        pasid: x.pasid ?? 0,
        gn: x.gn ?? false,
      };
    }
    if ('completion_wait' in c) {
      const x = c.completion_wait;
      const p = [...path, 'completion_wait'];
      const store = x.store === undefined ? null : this.address(x.store, [...p, 'store']);
      if (store !== null && (store % 8n !== 0n || store >> 52n !== 0n))
        this.error(
          [...p, 'store'],
          `semaphore address 0x${store.toString(16)} is not an 8-byte aligned 52-bit GPA`,
          'the command holds address bits 51:3',
        );
      return {
        op: 'completion_wait',
        store,
        data: x.data === undefined ? 0n : this.address(x.data, [...p, 'data']),
        interrupt: x.interrupt ?? false,
      };
    }
    return { op: 'invalidate_iommu_all' };
  }

  /**
   * The steps with every `for:` written out: each step of a loop body once per value, its `${var}`s bound
   * and its name suffixed with them (`map[len=4K]`), at the path of the step as written.
   */
  flatSteps(spec: Spec): { s: Step; path: PathSegment[]; env: LoopEnv }[] {
    const out: { s: Step; path: PathSegment[]; env: LoopEnv }[] = [];
    let tooMany = false;
    const walk = (steps: readonly Step[], base: readonly PathSegment[], env: LoopEnv): void => {
      steps.forEach((s, i) => {
        const path = [...base, i];
        if (s.for === undefined) {
          if (s.steps !== undefined)
            this.error([...path, 'steps'], '`steps` goes with `for`', 'add `for: {var, in}` or remove `steps`', true);
          if (out.length >= MAX_EXPANDED_STEPS) {
            if (!tooMany)
              this.error(
                path,
                `the loops write out more than ${MAX_EXPANDED_STEPS} steps`,
                'for a long run of one call, use `repeat: {count, var}` (evaluated as it runs)',
              );
            tooMany = true;
            return;
          }
          out.push({ s, path, env });
          return;
        }
        const fp = [...path, 'for'];
        for (const k of ['name', 'call', 'args', 'expect', 'repeat', 'check', 'iommu'] as const)
          if (s[k] !== undefined)
            this.error([...path, k], `\`${k}\` does not go with \`for\``, 'put it on the steps the loop runs', true);
        if (s.steps === undefined) {
          this.error(fp, 'a `for` needs `steps`', 'add `steps:`, the steps it runs each time', true);
          return;
        }
        const v = s.for.var;
        if (env.vars.has(v))
          this.error([...fp, 'var'], `\`${v}\` is already a loop variable here`, 'give the inner loop its own name');
        const values = this.loopValues(s.for, fp);
        for (const value of values) {
          if (tooMany) return;
          const vars = new Map(env.vars).set(v, value.value);
          walk(s.steps, [...path, 'steps'], { vars, suffix: [...env.suffix, `${v}=${value.shown}`] });
        }
      });
    };
    walk(spec.steps, ['steps'], { vars: new Map(), suffix: [] });
    return out;
  }

  /** The values of a `for`: its `in` list as written, or its `range` (from, from + step, ... below to). */
  loopValues(f: NonNullable<Step['for']>, path: readonly PathSegment[]): { value: bigint; shown: string }[] {
    if ((f.in === undefined) === (f.range === undefined)) {
      this.error(path, 'a `for` takes its values from `in` or from `range`', 'give exactly one of `in`, `range`');
      return [];
    }
    if (f.in) return f.in.map((x, i) => ({ value: this.address(x, [...path, 'in', i]), shown: String(x) }));
    const r = f.range!;
    const rp = [...path, 'range'];
    const from = this.address(r.from, [...rp, 'from']);
    const to = this.address(r.to, [...rp, 'to']);
    const step = r.step === undefined ? 1n : this.address(r.step, [...rp, 'step']);
    if (step === 0n) {
      this.error([...rp, 'step'], 'a range cannot step by 0', 'expected a step of at least 1');
      return [];
    }
    if (to <= from) {
      this.error(
        rp,
        `the range [${String(r.from)}, ${String(r.to)}) is empty`,
        '`to` is exclusive and must be above `from`',
      );
      return [];
    }
    const count = (to - from + step - 1n) / step;
    if (count > BigInt(MAX_EXPANDED_STEPS)) {
      this.error(
        rp,
        `the range has ${count} values, more than the ${MAX_EXPANDED_STEPS} steps loops may write out`,
        'for a long run of one call, use `repeat: {count, var}` (evaluated as it runs)',
      );
      return [];
    }
    const hexShown = typeof r.from === 'string' && /^0[xX]/.test(r.from);
    return Array.from({ length: Number(count) }, (_, i) => {
      const value = from + BigInt(i) * step;
      return { value, shown: hexShown ? `0x${value.toString(16)}` : String(value) };
    });
  }

  /**
   * A value that may be a loop expression: bound to the loop variables in `env`; what still depends on the
   * repeat variable stays an expression for the executor. Anything else unknown is a positioned error.
   */
  loopArg(text: string, path: readonly PathSegment[], env: LoopEnv): bigint | LoopValue {
    const expr = this.expression(text, path, 'e.g. "${i} * 4K + 0x100000"');
    if (expr === undefined) return 0n;
    const known = [...env.vars.keys(), ...(env.repeatVar ? [env.repeatVar] : [])];
    for (const v of variablesOf(expr))
      if (!known.includes(v))
        this.error(
          path,
          `\`\${${v}}\` is not a loop variable here`,
          known.length
            ? expectedOneOf(v, known)
            : "variables come from an enclosing `for:` or this step's `repeat: {count, var}`",
        );
    const bound = bindVariables(expr, Object.fromEntries(env.vars));
    return typeof bound === 'bigint' ? bound : { loop: bound, text };
  }

  steps(spec: Spec, iommuCount: number): PlanStep[] {
    const names = new Set<string>();
    const flat = this.flatSteps(spec);
    this.stepNames = flat.map(({ s, env }, i) => {
      const base = s.name ?? `#${i + 1}`;
      return env.suffix.length ? `${base}[${env.suffix.join(',')}]` : base;
    });
    return flat.map(({ s, path, env: outer }, i): PlanStep => {
      const repeatVar = typeof s.repeat === 'object' ? s.repeat.var : undefined;
      if (repeatVar && outer.vars.has(repeatVar))
        this.error(
          [...path, 'repeat', 'var'],
          `\`${repeatVar}\` is already a loop variable here`,
          'give the repeat its own name',
        );
      const env: LoopEnv = { ...outer, ...(repeatVar ? { repeatVar } : {}) };
      const name = this.stepNames[i]!;
      if (names.has(name))
        this.error([...path, s.name ? 'name' : 'call'], `two steps are named \`${name}\``, 'step names must be unique');
      names.add(name);
      const checkIommu = (iommu: number, p: readonly PathSegment[]): number => {
        if (iommu >= iommuCount)
          this.error(p, `there is no IOMMU ${iommu}`, `the hardware has ${iommuCount}; indices start at 0`);
        return iommu;
      };
      let action: StepAction;
      if (s.call !== undefined) {
        action = this.call(s, path, checkIommu(s.iommu ?? 0, [...path, s.iommu === undefined ? 'call' : 'iommu']), env);
      } else if (s.viommu_access) {
        const a = s.viommu_access;
        const iommu = checkIommu(a.iommu ?? 0, [...path, 'viommu_access']);
        action = {
          kind: 'viommu_access',
          iommu,
          iova: this.address(a.iova, [...path, 'viommu_access', 'iova']),
          access: a.access,
        };
      } else if (s.guest_commands) {
        action = this.guestCommands(s.guest_commands, [...path, 'guest_commands'], checkIommu);
      } else {
        const a = s.dma!;
        if (a.devid === undefined) this.error([...path, 'dma'], 'a DMA needs the device', 'add `devid:`');
        const iommu = checkIommu(a.iommu ?? 0, [...path, 'dma']);
        action = {
          kind: 'dma',
          iommu,
          devid: a.devid ?? 0,
          iova: this.address(a.iova, [...path, 'dma', 'iova']),
          access: a.access,
        };
      }
      let expect: StepExpect | undefined;
      const ep = [...path, 'expect'];
      if (s.expect !== undefined) {
        if (typeof s.expect === 'object') {
          if (action.kind === 'call')
            this.error(
              ep,
              'a call returns a value, not a translation',
              'expected 0, an errno such as -ENOMEM, or oops',
            );
          const e = s.expect;
          expect = {
            kind: 'access',
            ...(e.pa === undefined ? {} : { pa: this.value(e.pa, [...ep, 'pa']) }),
            ...(e.fault === undefined ? {} : { fault: e.fault }),
            ...(e.from_iotlb === undefined ? {} : { fromIotlb: e.from_iotlb }),
            ...(e.stale === undefined ? {} : { stale: e.stale }),
          };
        } else {
          if (action.kind !== 'call' && s.expect !== 'oops') {
            this.error(
              ep,
              'an access has a translation, not a return value',
              'expected a mapping such as {pa: 0x401000} or {fault: not_present}',
            );
          }
          const ret = hasVariables(s.expect) ? this.loopArg(s.expect, ep, env) : this.ret(s.expect, ep);
          const returns = action.kind === 'call' ? ENTRY_POINTS.get(action.fn)?.returns : undefined;
          if (returns === 'void' && ret !== 'void' && ret !== 'oops') {
            this.error(ep, `${s.call} returns nothing`, 'write `expect: void` (or `oops`)');
          } else if (returns !== undefined && returns !== 'void' && ret === 'void') {
            this.error(
              ep,
              `${s.call} returns ${returns === 'size' ? 'a byte count' : returns === 'phys' ? 'an address' : 'an int'}, not void`,
              'expected 0, an errno, a size, or oops',
            );
          }
          // A phys_addr_t holds a negative errno as its u64 (iova_to_phys's `return ret;`).
          expect = {
            kind: 'ret',
            ret: returns === 'phys' && typeof ret === 'bigint' && ret < 0n ? BigInt.asUintN(64, ret) : ret,
          };
          if (isLoopValue(ret) && action.kind !== 'call')
            this.error(ep, 'an access has a translation, not a return value', 'expected {pa: ...} or {fault: ...}');
        }
      }
      const repeat = typeof s.repeat === 'object' ? s.repeat.count : (s.repeat ?? 1);
      const check = s.check === undefined ? undefined : this.expectations(s.check, [...path, 'check']);
      return {
        index: i,
        name,
        action,
        repeat,
        ...(repeatVar ? { repeatVar } : {}),
        ...(expect ? { expect } : {}),
        ...(check ? { check } : {}),
        at: this.ref(ep),
        nodeAt: this.ref(path),
      };
    });
  }

  /** The `expect:` block at `base` (the spec's, or a step's `check:`). */
  expectations(x: Expect, base: readonly PathSegment[] = ['expect']): ExpectationOf<ExpectKey>[] {
    const out: ExpectationOf<ExpectKey>[] = [];
    for (const key of EXPECT_KEYS) {
      const value = (x as Record<string, unknown>)[key];
      if (value === undefined) continue;
      out.push((EXPECT_COMPILERS[key] as ExpectCompiler<ExpectKey>)(value as never, this, [...base, key]));
    }
    return out;
  }
}

type ExpectCompiler<K extends ExpectKey> = (
  value: NonNullable<Expect[K]>,
  c: Compiler,
  path: readonly PathSegment[],
) => ExpectationOf<K>;

const logMatchers = (lines: LogLine[], c: Compiler, path: readonly PathSegment[]): LogMatcher[] =>
  lines.map((l, i) =>
    typeof l === 'string'
      ? l.includes('${')
        ? { parts: c.interpolated(l, [...path, i]) }
        : { text: l }
      : {
          ...(l.level === undefined ? {} : { level: l.level }),
          match: c.regex(l.match, [...path, i, 'match']),
        },
  );

const logCompiler =
  <K extends 'log' | 'log_without_debug' | 'log_contains'>(key: K): ExpectCompiler<K> =>
  (lines, c, path) =>
    ({ key, lines: logMatchers(lines, c, path), at: c.ref(path) }) as unknown as ExpectationOf<K>;

/** `message`/`function` of an oops: exact text, or `{match: regex}`. */
const oopsText = (
  v: string | { match: string } | undefined,
  c: Compiler,
  path: readonly PathSegment[],
): TextMatcher | undefined =>
  v === undefined ? undefined : typeof v === 'string' ? v : { match: c.regex(v.match, [...path, 'match']) };

const lineCompiler =
  <K extends 'events' | 'faults_fired' | 'invariants'>(key: K): ExpectCompiler<K> =>
  (lines, c, path) =>
    ({ key, lines, at: c.ref(path) }) as unknown as ExpectationOf<K>;

const allocCompiler =
  <K extends 'leaks' | 'freed'>(key: K): ExpectCompiler<K> =>
  (items, c, path) =>
    ({
      key,
      allocs: items.map((m: SpecAllocMatcher, i): AllocMatcher => {
        if (typeof m === 'string') return { site: m, glob: false, count: 1 };
        c.site(m.site, [...path, i, 'site']);
        return { site: m.site, glob: true, ...(m.order === undefined ? {} : { order: m.order }), count: m.count ?? 1 };
      }),
      at: c.ref(path),
    }) as unknown as ExpectationOf<K>;

const commandMatchers = (items: SpecCommandMatcher[], c: Compiler, path: readonly PathSegment[]): CommandMatcher[] =>
  items.map((m, i) =>
    typeof m === 'string'
      ? { text: m }
      : 'match' in m
        ? { match: c.regex(m.match, [...path, i, 'match']) }
        : { data: m.data.map((w, j) => c.value(w, [...path, i, 'data', j])) },
  );

const perIommuCompiler =
  <K extends 'iotlb' | 'flushed' | 'not_flushed'>(key: K): ExpectCompiler<K> =>
  (value, c, path) =>
    ({
      key,
      perIommu: Object.entries(value).map(([k, lines]) => ({ key: k, lines, at: c.ref([...path, k]) })),
      at: c.ref(path),
    }) as unknown as ExpectationOf<K>;

/** The one-line mapping form the end state prints (the schema's pattern has checked its shape). */
function parseMappingLine(line: string): RangeExpectation {
  const [, iova, size, pa, page, perm] = /^iova=(\S+) size=(\S+) pa=(\S+) page=(\S+) (\S+)$/.exec(line)!;
  return { iova: BigInt(iova!), size: BigInt(size!), pa: BigInt(pa!), page: BigInt(page!), perm: perm! };
}

function parseMemtypeLine(line: string): MemtypeExpectation {
  const [, pa, size, type] = /^pa=(\S+) size=(\S+) (\S+)$/.exec(line)!;
  return { pa: BigInt(pa!), size: BigInt(size!), type: type! };
}

/** How each `expect:` key compiles: the language half of the expectation registry (runtime/check/diff.ts). */
const EXPECT_COMPILERS: { readonly [K in ExpectKey]: ExpectCompiler<K> } = {
  log: logCompiler('log'),
  log_without_debug: logCompiler('log_without_debug'),
  log_contains: logCompiler('log_contains'),
  oops: (oops, c, path) => ({
    key: 'oops',
    oops:
      oops === false
        ? false
        : {
            ...(oops.message === undefined ? {} : { message: oopsText(oops.message, c, [...path, 'message']) }),
            ...(oops.function === undefined ? {} : { function: oopsText(oops.function, c, [...path, 'function']) }),
            ...(oops.step === undefined ? {} : { step: oops.step }),
          },
    at: c.ref(path),
  }),
  mappings: (value, c, path) => ({
    key: 'mappings',
    domains: Object.entries(value).map(([domain, ranges]) => ({
      domain,
      ranges:
        ranges === 'absent'
          ? ('absent' as const)
          : ranges.map((r, i) => {
              const p = [...path, domain, i];
              if (typeof r === 'string') return parseMappingLine(r);
              return {
                iova: parseAddress(r.iova) ?? 0n,
                size: parseAddress(r.size) ?? 0n,
                ...(r.pa === undefined ? {} : { pa: c.value(r.pa, [...p, 'pa']) }),
                ...(r.page_size === undefined ? {} : { page: parseAddress(r.page_size) ?? 0n }),
                ...(r.perm === undefined ? {} : { perm: r.perm }),
              };
            }),
      at: c.ref([...path, domain]),
    })),
    at: c.ref(path),
  }),
  memtypes: (ranges, c, path) => ({
    key: 'memtypes',
    ranges: ranges.map((m, i): MemtypeExpectation => {
      if (typeof m === 'string') return parseMemtypeLine(m);
      if ('alloc' in m) {
        c.site(m.alloc, [...path, i, 'alloc']);
        return { alloc: m.alloc, count: m.count ?? 1, type: m.type, at: c.ref([...path, i]) };
      }
      return { pa: c.value(m.pa, [...path, i, 'pa']), size: parseAddress(m.size) ?? 0n, type: m.type };
    }),
    at: c.ref(path),
  }),
  commands: (value, c, path) => ({
    key: 'commands',
    perIommu: Object.entries(value).map(([k, v]) => {
      const p = [...path, k];
      if (Array.isArray(v)) return { key: k, executed: commandMatchers(v, c, p), at: c.ref(p) };
      const r = v.ring;
      return {
        key: k,
        ...(v.executed ? { executed: commandMatchers(v.executed, c, [...p, 'executed']) } : {}),
        ...(v.queued ? { queued: commandMatchers(v.queued, c, [...p, 'queued']) } : {}),
        ...(r
          ? {
              ring: {
                ...(r.head === undefined ? {} : { head: c.address(r.head, [...p, 'ring', 'head']) }),
                ...(r.tail === undefined ? {} : { tail: c.address(r.tail, [...p, 'ring', 'tail']) }),
                ...(r.pending === undefined ? {} : { pending: r.pending }),
              },
            }
          : {}),
        at: c.ref(p),
      };
    }),
    at: c.ref(path),
  }),
  flushed: perIommuCompiler('flushed'),
  not_flushed: perIommuCompiler('not_flushed'),
  iotlb: perIommuCompiler('iotlb'),
  leaks: allocCompiler('leaks'),
  freed: allocCompiler('freed'),
  events: lineCompiler('events'),
  faults_fired: lineCompiler('faults_fired'),
  invariants: lineCompiler('invariants'),
  domain_ids: (ids, c, path) => ({ key: 'domain_ids', ids, at: c.ref(path) }),
  domains: (value, c, path) => ({
    key: 'domains',
    domains: Object.entries(value).map(([id, top]) => {
      const p = [...path, id];
      return {
        domain: Number(id),
        top:
          top === 'absent'
            ? ('absent' as const)
            : {
                ...(top.level === undefined ? {} : { level: top.level }),
                ...(top.mode === undefined ? {} : { mode: top.mode }),
                ...(top.top === undefined ? {} : { pa: c.value(top.top, [...p, 'top']) }),
              },
        at: c.ref(p),
      };
    }),
    at: c.ref(path),
  }),
  ptes: (ptes, c, path) => ({
    key: 'ptes',
    ptes: ptes.map((p, i): PteExpectation => {
      const pp = [...path, i];
      const base = { domain: p.domain, at: c.ref(pp) };
      if (p.table) {
        for (const k of ['value', 'level', 'index', 'iova'] as const)
          if (p[k] !== undefined)
            c.error(
              [...pp, k],
              `\`${k}\` does not go with \`table\``,
              'state the table by `table: {level, iova}` and its entries by `nonzero`',
              true,
            );
        const nonzero = Object.entries(p.nonzero ?? {}).map(([index, v]) => {
          if (Number(index) > 511)
            c.error(
              [...pp, 'nonzero', index],
              `a table has 512 entries, not ${Number(index) + 1}`,
              'expected an index 0..511',
              true,
            );
          return { index: Number(index), value: c.value(v, [...pp, 'nonzero', index]) };
        });
        return {
          ...base,
          form: 'table',
          level: p.table.level,
          iova: p.table.iova === undefined ? 0n : c.address(p.table.iova, [...pp, 'table', 'iova']),
          nonzero,
        };
      }
      if (p.nonzero !== undefined)
        c.error([...pp, 'nonzero'], '`nonzero` needs `table`', 'add `table: {level, iova}`', true);
      if (p.value === undefined)
        c.error(
          pp,
          'a PTE expectation needs `value`',
          'add `value:` (or state a whole table with `table:` and `nonzero:`)',
        );
      const value = p.value === undefined ? 0n : c.value(p.value, [...pp, 'value']);
      const iova = p.iova === undefined ? 0n : c.address(p.iova, [...pp, 'iova']);
      if (p.index !== undefined) {
        if (p.level === undefined)
          c.error([...pp, 'index'], '`index` needs `level`', 'add `level:` (0 is the table of 4 KiB entries)', true);
        return { ...base, form: 'index', iova, level: p.level ?? 0, index: p.index, value };
      }
      if (p.iova === undefined)
        c.error(
          pp,
          'a PTE expectation needs `iova` (or `level` and `index`)',
          'add `iova:`, the IOVA whose walk reads the entry',
        );
      return { ...base, form: 'walk', iova, ...(p.level === undefined ? {} : { level: p.level }), value };
    }),
    at: c.ref(path),
  }),
  driver: (objects, c, path) => ({
    key: 'driver',
    objects: Object.entries(objects).map(([key, fields]): DriverObjectExpectation => {
      const p = [...path, key];
      const prefix = key.replace(/[0-9]+$/, '');
      const kind = VENDOR.driverObjects.find((o) => o.prefix === prefix);
      if (!kind)
        c.error(
          p,
          `no driver struct is named \`${prefix}\``,
          expectedOneOf(
            prefix,
            VENDOR.driverObjects.map((o) => o.prefix),
          ),
          true,
        );
      if (fields === 'absent') return { key, fields: 'absent', at: c.ref(p) };
      const one = (v: SpecValue | null, q: readonly PathSegment[]): ValueExpr | null =>
        v === null ? null : c.value(v, q);
      return {
        key,
        fields: Object.entries(fields).map(([name, v]) => {
          const q = [...p, name];
          if (kind && !(name in kind.fields))
            c.error(
              q,
              `struct ${key.replace(/[0-9]+$/, '')} has no observable field \`${name}\``,
              expectedOneOf(name, Object.keys(kind.fields)),
              true,
            );
          return {
            name,
            value: Array.isArray(v) ? v.map((x, i) => one(x, [...q, i])) : one(v, q),
            at: c.ref(q),
          };
        }),
        at: c.ref(p),
      };
    }),
    at: c.ref(path),
  }),
  guests: (guests, c, path) => ({
    key: 'guests',
    guests: guests.map((g, i): GuestExpectation => {
      const p = [...path, i];
      const vocab = VENDOR.guestVocabulary;
      const nullable = (v: SpecValue | null, q: readonly PathSegment[]): ValueExpr | null =>
        v === null ? null : c.value(v, q);
      const named = (field: 'vf_cntl' | 'vf', regs: Readonly<Record<string, SpecValue>>): NamedValue<string>[] =>
        Object.entries(regs).map(([name, v]) => {
          const q = [...p, field, name];
          if (!vocab[field].includes(name))
            c.error(q, `no ${field} register is named \`${name}\``, expectedOneOf(name, vocab[field]), true);
          return { name, value: c.value(v, q), at: c.ref(q) };
        });
      const ids = (field: 'devid_map' | 'domid_map', map: Readonly<Record<string, SpecValue>>): NamedValue<number>[] =>
        Object.entries(map).map(([id, v]) => {
          const q = [...p, field, id];
          const guest = parseAddress(id) ?? 0n;
          if (guest > 0xffffn)
            c.error(q, `guest ID ${id} does not fit a table of 65536 entries`, 'use 0..0xffff', true);
          return { name: Number(guest), value: c.value(v, q), at: c.ref(q) };
        });
      const stated = Object.keys(g).filter((k) => !['iommu', 'gid', 'absent'].includes(k));
      if (g.absent && stated.length)
        c.error(
          [...p, stated[0]!],
          'an `absent` guest has no fields to compare',
          `drop \`${stated[0]}\` or \`absent\``,
          true,
        );
      return {
        iommu: g.iommu ?? 0,
        gid: g.gid,
        ...(g.absent ? { absent: true as const } : {}),
        ...(g.allocated === undefined ? {} : { allocated: g.allocated }),
        ...(g.trans_devid === undefined ? {} : { trans_devid: nullable(g.trans_devid, [...p, 'trans_devid']) }),
        ...(g.devid_table === undefined ? {} : { devid_table: nullable(g.devid_table, [...p, 'devid_table']) }),
        ...(g.domid_table === undefined ? {} : { domid_table: nullable(g.domid_table, [...p, 'domid_table']) }),
        ...(g.vf_cntl === undefined ? {} : { vf_cntl: named('vf_cntl', g.vf_cntl) }),
        ...(g.vf === undefined ? {} : { vf: named('vf', g.vf) }),
        ...(g.devid_map === undefined ? {} : { devid_map: ids('devid_map', g.devid_map) }),
        ...(g.domid_map === undefined ? {} : { domid_map: ids('domid_map', g.domid_map) }),
        ...(g.queues === undefined
          ? {}
          : {
              queues: Object.entries(g.queues).map(([type, q]): GuestQueueExpectation => {
                const qp = [...p, 'queues', type];
                const names = vocab.queues[type] ?? [];
                for (const [j, f] of (q.flags ?? []).entries())
                  if (!names.includes(f))
                    c.error([...qp, 'flags', j], `the ${type} queue has no flag \`${f}\``, expectedOneOf(f, names));
                return {
                  type,
                  ...(q.base === undefined ? {} : { base: c.value(q.base, [...qp, 'base']) }),
                  ...(q.length === undefined ? {} : { length: q.length }),
                  ...(q.flags === undefined ? {} : { flags: q.flags }),
                  ...(q.head === undefined ? {} : { head: c.value(q.head, [...qp, 'head']) }),
                  ...(q.tail === undefined ? {} : { tail: c.value(q.tail, [...qp, 'tail']) }),
                  ...(q.halted === undefined ? {} : { halted: q.halted }),
                  at: c.ref(qp),
                };
              }),
            }),
        at: c.ref(p),
      };
    }),
    at: c.ref(path),
  }),
  dtes: (dtes, c, path) => ({
    key: 'dtes',
    dtes: dtes.map((d, i) => ({
      iommu: d.iommu ?? 0,
      devid: d.devid,
      data: d.data.map((v, j) => c.value(v, [...path, i, 'data', j])),
      at: c.ref([...path, i]),
    })),
    at: c.ref(path),
  }),
};

/** Compiles a validated spec into a plan, or the semantic errors the schema cannot express. */
export function compileSpec(src: LoadedSpec): { ok: true; plan: Plan } | { ok: false; errors: SpecError[] } {
  const c = new Compiler(src);
  const spec = src.spec;
  const machine = c.machine(spec);
  // Steps first: faults and sweeps name steps as compiled (loops written out).
  const steps = c.steps(spec, spec.hardware!.iommus!.length);
  const faults = (spec.faults ?? []).map((f, i) => c.fault(f, i));
  const expect = c.expectations(spec.expect ?? {});
  const sweep = spec.sweep ? c.sweep(spec) : undefined;
  const marker = c.marker(spec);
  if (c.errors.length) return { ok: false, errors: c.errors };
  const caseName = src.id.includes('#') ? src.id.slice(src.id.indexOf('#') + 1) : undefined;
  const plan: Plan = {
    id: src.id,
    file: src.file,
    name: spec.name,
    tags: spec.tags ?? [],
    machine,
    faults,
    faultsAt: faults.map((_, i) => c.ref(['faults', i])),
    steps,
    stepsAt: c.ref(['steps']),
    afterOops: spec.after_oops ?? 'stop',
    expect,
    golden: spec.golden ? { path: goldenPath(src.file, caseName), at: c.ref(['golden']) } : null,
    ...(sweep ? { sweep } : {}),
    ...(marker ?? {}),
  };
  return { ok: true, plan };
}

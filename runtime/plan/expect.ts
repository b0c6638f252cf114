import type { SourceRef, ValueExpr } from './plan.js';

/**
 * The compiled expectations of a plan: one variant per `expect:` key of the spec language, each carrying
 * the place it was written. The key set is defined here once; the compiler (dsl/) and the checker
 * (runtime/check/expectations.ts) are tables keyed by it, which TypeScript holds exhaustive.
 */

/**
 * A kernel log line: exact text (`level: text`), exact text with values over symbols in it (`${table(2,
 * L2, 0x0)}`, printed in 0x hex), or a level and a regular expression.
 */
export type LogMatcher =
  | { readonly text: string }
  | { readonly parts: readonly (string | ValueExpr)[] }
  | { readonly level?: string; readonly match: string };

/** Exact text, or a regular expression the text must match. */
export type TextMatcher = string | { readonly match: string };

export interface OopsExpectation {
  readonly message?: TextMatcher;
  readonly function?: TextMatcher;
  readonly step?: string;
}

export interface RangeExpectation {
  readonly iova: bigint;
  readonly size: bigint;
  readonly pa?: ValueExpr;
  readonly page?: bigint;
  readonly perm?: string;
}

/** Pages not WB: a range as the end state merges them, or every page of `count` allocations a glob names. */
export type MemtypeExpectation =
  | { readonly pa: ValueExpr; readonly size: bigint; readonly type: string }
  | { readonly alloc: string; readonly count: number; readonly type: string; readonly at: SourceRef };

/**
 * Page-table entries of a domain, by the walk of an IOVA (generic_pt levels: 0 is the table of 4 KiB entries):
 * the entry the walk ends on (no level) or reads at `level`; entry `index` of the level's table on the walk;
 * or a whole table, all zero but `nonzero`.
 */
export type PteExpectation = {
  readonly domain: number;
  readonly iova: bigint;
  readonly at: SourceRef;
} & (
  | { readonly form: 'walk'; readonly level?: number; readonly value: ValueExpr }
  | { readonly form: 'index'; readonly level: number; readonly index: number; readonly value: ValueExpr }
  | {
      readonly form: 'table';
      readonly level: number;
      readonly nonzero: readonly { readonly index: number; readonly value: ValueExpr }[];
    }
);

export interface DteExpectation {
  readonly iommu: number;
  readonly devid: number;
  readonly data: readonly ValueExpr[];
  readonly at: SourceRef;
}

/** A command: its decoded line, a regular expression over it, or its four raw words. */
export type CommandMatcher =
  { readonly text: string } | { readonly match: string } | { readonly data: readonly ValueExpr[] };

/** One IOMMU's commands: executed ones in order, those queued behind the head, and the ring's pointers. */
export interface IommuCommands {
  readonly key: string;
  readonly executed?: readonly CommandMatcher[];
  readonly queued?: readonly CommandMatcher[];
  readonly ring?: { readonly head?: bigint; readonly tail?: bigint; readonly pending?: number };
  readonly at: SourceRef;
}

/** A driver struct's expected fields (`null` is NULL), or that it must not exist. */
export interface DriverObjectExpectation {
  readonly key: string;
  readonly fields:
    | 'absent'
    | readonly {
        readonly name: string;
        readonly value: ValueExpr | null | readonly (ValueExpr | null)[];
        readonly at: SourceRef;
      }[];
  readonly at: SourceRef;
}

/** A named register or table entry a spec states, with where it was written. */
export interface NamedValue<N> {
  readonly name: N;
  readonly value: ValueExpr;
  readonly at: SourceRef;
}

/** A guest queue as stated: its type and the fields given. */
export interface GuestQueueExpectation {
  readonly type: string;
  readonly base?: ValueExpr;
  readonly length?: number;
  readonly flags?: readonly string[];
  readonly head?: ValueExpr;
  readonly tail?: ValueExpr;
  readonly halted?: boolean;
  readonly at: SourceRef;
}

/** One vIOMMU guest's expected end state; fields not stated are not compared. */
export interface GuestExpectation {
  readonly iommu: number;
  readonly gid: number;
  readonly absent?: true;
  readonly allocated?: boolean;
  readonly trans_devid?: ValueExpr | null;
  readonly devid_table?: ValueExpr | null;
  readonly domid_table?: ValueExpr | null;
  readonly vf_cntl?: readonly NamedValue<string>[];
  readonly vf?: readonly NamedValue<string>[];
  readonly devid_map?: readonly NamedValue<number>[];
  readonly domid_map?: readonly NamedValue<number>[];
  readonly queues?: readonly GuestQueueExpectation[];
  readonly at: SourceRef;
}

/** Allocations by exact site, or by glob with the page order and how many; `count` 1 for an exact site. */
export interface AllocMatcher {
  readonly site: string;
  readonly glob: boolean;
  readonly order?: number;
  readonly count: number;
}

/** Lines keyed by an IOMMU index or a domain ID, as the spec writes them. */
export interface KeyedLines {
  readonly key: string;
  readonly lines: readonly string[];
  readonly at: SourceRef;
}

export interface DomainMappings {
  readonly domain: string;
  /** `absent`: the domain must not exist at the end. */
  readonly ranges: readonly RangeExpectation[] | 'absent';
  readonly at: SourceRef;
}

/** The top of a paging domain: its generic_pt level, the AMD mode, the top table's address; or absence. */
export interface DomainTopExpectation {
  readonly domain: number;
  readonly top: 'absent' | { readonly level?: number; readonly mode?: number; readonly pa?: ValueExpr };
  readonly at: SourceRef;
}

export type Expectation =
  | {
      readonly key: 'log' | 'log_without_debug' | 'log_contains';
      readonly lines: readonly LogMatcher[];
      readonly at: SourceRef;
    }
  | { readonly key: 'oops'; readonly oops: false | OopsExpectation; readonly at: SourceRef }
  | { readonly key: 'mappings'; readonly domains: readonly DomainMappings[]; readonly at: SourceRef }
  | { readonly key: 'memtypes'; readonly ranges: readonly MemtypeExpectation[]; readonly at: SourceRef }
  | { readonly key: 'commands'; readonly perIommu: readonly IommuCommands[]; readonly at: SourceRef }
  | {
      readonly key: 'iotlb' | 'flushed' | 'not_flushed';
      readonly perIommu: readonly KeyedLines[];
      readonly at: SourceRef;
    }
  | { readonly key: 'leaks' | 'freed'; readonly allocs: readonly AllocMatcher[]; readonly at: SourceRef }
  | {
      readonly key: 'events' | 'faults_fired' | 'invariants';
      readonly lines: readonly string[];
      readonly at: SourceRef;
    }
  | { readonly key: 'domain_ids'; readonly ids: readonly number[]; readonly at: SourceRef }
  | { readonly key: 'domains'; readonly domains: readonly DomainTopExpectation[]; readonly at: SourceRef }
  | { readonly key: 'driver'; readonly objects: readonly DriverObjectExpectation[]; readonly at: SourceRef }
  | { readonly key: 'guests'; readonly guests: readonly GuestExpectation[]; readonly at: SourceRef }
  | { readonly key: 'ptes'; readonly ptes: readonly PteExpectation[]; readonly at: SourceRef }
  | { readonly key: 'dtes'; readonly dtes: readonly DteExpectation[]; readonly at: SourceRef };

/** Every `expect:` key, in the order a diff reports them. */
export const EXPECT_KEYS = [
  'log',
  'log_without_debug',
  'log_contains',
  'oops',
  'mappings',
  'memtypes',
  'commands',
  'flushed',
  'not_flushed',
  'iotlb',
  'leaks',
  'freed',
  'events',
  'invariants',
  'faults_fired',
  'domain_ids',
  'domains',
  'ptes',
  'dtes',
  'driver',
  'guests',
] as const satisfies readonly Expectation['key'][];

export type ExpectKey = (typeof EXPECT_KEYS)[number];

// Every variant of Expectation is listed in EXPECT_KEYS (a compile error otherwise).
const everyKeyListed: [Exclude<Expectation['key'], ExpectKey>] extends [never] ? true : never = true;
void everyKeyListed;

/** The compiled expectation of one key (variants shared by several keys narrowed to that key). */
export type ExpectationOf<K extends ExpectKey> = Expectation extends infer E
  ? E extends { readonly key: infer EK }
    ? K extends EK
      ? Omit<E, 'key'> & { readonly key: K }
      : never
    : never
  : never;

/** What particular runs of a sweep must show; `point` is a glob over `site#call`. */
export interface SweepRowExpectation {
  readonly point: string;
  readonly steps?: readonly string[];
  readonly oops?: boolean;
  readonly violations?: readonly string[];
  /** Any end-state expectation, held against each matching run. */
  readonly expect?: readonly Expectation[];
  readonly at: SourceRef;
  readonly stepsAt: SourceRef;
  readonly oopsAt: SourceRef;
  readonly violationsAt: SourceRef;
}

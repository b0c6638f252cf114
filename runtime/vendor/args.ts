import { PtFeature } from '../pt/defs.js';

/** The prot flags a list form may name: IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO. */
export const PROT_FLAG_NAMES = ['r', 'w', 'cache', 'noexec', 'mmio'] as const;
export type ProtFlag = (typeof PROT_FLAG_NAMES)[number];

/**
 * The types an entry-point argument can have. Each names its JSON Schema (the spec syntax, assembled into
 * schemas/spec.schema.json) and its compiled value; the spec compiler has one converter per type, so a new
 * entry point with existing argument types is a registry row and nothing else.
 */
export const ARG_TYPES = {
  devid: { schema: { type: 'integer', minimum: 0, maximum: 65535 }, doc: 'a PCI requester ID (0..0xffff)' },
  address: {
    schema: { $ref: '#/$defs/loopAddress' },
    doc: 'a 64-bit address or size (in a loop, an expression over its variables)',
  },
  addressOrAlloc: {
    schema: { $ref: '#/$defs/loopAddressOrAlloc' },
    doc: 'an address, or an allocation named by site (in a loop, an expression over its variables)',
  },
  prot: {
    schema: {
      description: 'A prot: r, w, rw or none, or a list of the flags r, w, cache, noexec, mmio.',
      anyOf: [
        { type: 'string', enum: ['r', 'w', 'rw', 'none'] },
        { type: 'array', uniqueItems: true, items: { type: 'string', enum: PROT_FLAG_NAMES } },
      ],
    },
    doc: 'IOMMU_READ/IOMMU_WRITE as `r`, `w`, `rw`, `none`, or a list of flags: r, w, cache, noexec, mmio',
  },
  queue_type: { schema: { type: 'string', enum: ['cmd', 'evt', 'ppr'] }, doc: 'an AMD HW queue: cmd, evt or ppr' },
  queue_flags: {
    schema: {
      type: 'array',
      uniqueItems: true,
      items: {
        type: 'string',
        enum: [
          'cmdbuf_en',
          'comwait_en',
          'evt_log_en',
          'evt_int_en',
          'pprlog_en',
          'pprint_en',
          'ppr_en',
          'ppr_auto_rsp_en',
          'blkstopmrk_en',
          'ppr_auto_rsp_aon',
        ],
      },
    },
    doc: 'IOMMU_HW_QUEUE_FLAG_AMD_* by name, lower case without the prefix',
  },
  u16: { schema: { type: 'integer', minimum: 0, maximum: 65535 }, doc: 'a 16-bit guest or domain ID (0..0xffff)' },
  lg2: { schema: { type: 'integer', minimum: 0, maximum: 64 }, doc: 'a log2 of bytes (0..64)' },
  pt_level: { schema: { type: 'integer', minimum: 0, maximum: 7 }, doc: 'a generic_pt level (0 holds 4 KiB leaves)' },
  pt_features: {
    schema: {
      type: 'array',
      uniqueItems: true,
      items: {
        type: 'string',
        enum: Object.keys(PtFeature),
      },
    },
    doc: 'generic_pt features by name (enum pt_features without PT_FEAT_)',
  },
} as const;

export type ArgType = keyof typeof ARG_TYPES;

/** The value an entry point receives for each argument type (allocation references resolved). */
export interface ArgValueOf {
  devid: number;
  address: bigint;
  addressOrAlloc: bigint;
  prot: number;
  u16: number;
  queue_type: string;
  /** The flag names, sorted and comma-joined (plans are plain data). */
  queue_flags: string;
  lg2: number;
  pt_level: number;
  /** The PT_FEAT_* bits ORed. */
  pt_features: number;
}

export interface ArgDef {
  readonly type: ArgType;
  readonly required: boolean;
}

export type ArgSpec = Readonly<Record<string, ArgDef>>;

/** The typed arguments a run function receives for an ArgSpec. */
export type ArgValues<A extends ArgSpec> = {
  readonly [K in keyof A as A[K]['required'] extends true ? K : never]: ArgValueOf[A[K]['type']];
} & {
  readonly [K in keyof A as A[K]['required'] extends true ? never : K]?: ArgValueOf[A[K]['type']];
};

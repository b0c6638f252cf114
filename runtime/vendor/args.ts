/**
 * The types an entry-point argument can have. Each names its JSON Schema (the spec syntax, assembled into
 * schemas/spec.schema.json) and its compiled value; the spec compiler has one converter per type, so a new
 * entry point with existing argument types is a registry row and nothing else.
 */
export const ARG_TYPES = {
  devid: { schema: { type: 'integer', minimum: 0, maximum: 65535 }, doc: 'a PCI requester ID (0..0xffff)' },
  address: { schema: { $ref: '#/$defs/address' }, doc: 'a 64-bit address or size' },
  addressOrAlloc: { schema: { $ref: '#/$defs/addressOrAlloc' }, doc: 'an address, or an allocation named by site' },
  prot: { schema: { type: 'string', enum: ['r', 'w', 'rw', 'none'] }, doc: 'IOMMU_READ/IOMMU_WRITE' },
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

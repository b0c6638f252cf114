/* Generated from schemas/spec.schema.json by `npm run gen:types`. Do not edit. */

/**
 * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
 */
export type Address = number | string;
/**
 * When the command processor consumes the ring: on every doorbell, after N driver polls, or never again after K commands.
 */
export type Processor =
  | 'immediate'
  | {
      lag: number;
    }
  | {
      stalled: {
        after?: number;
      };
    };
export type Fault = {
  /**
   * Failure point name or glob (* within a segment, ** across); absent = every site, like fail-nth.
   */
  site?: string;
  nth?: number;
  every?: number;
  first?: number;
  probability?: {
    percent: number;
    seed: number;
  };
  always?: true;
  /**
   * Only calls made during these named steps (inclusive) count or fail.
   */
  window?: {
    from?: string;
    to?: string;
  };
  min_order?: number;
  /**
   * What an errno site returns when it fails; default: the site's natural error.
   */
  errno?:
    | 'EPERM'
    | 'ENOENT'
    | 'EIO'
    | 'ENXIO'
    | 'E2BIG'
    | 'EAGAIN'
    | 'ENOMEM'
    | 'EFAULT'
    | 'EBUSY'
    | 'EEXIST'
    | 'ENODEV'
    | 'EINVAL'
    | 'ENOSPC'
    | 'ERANGE'
    | 'EOVERFLOW'
    | 'EOPNOTSUPP'
    | 'EADDRINUSE'
    | 'ETIMEDOUT';
  times?: number;
} & Fault1;
export type Fault1 = {
  [k: string]: unknown;
};
export type Step = CallArgs & {
  name?: string;
  /**
   * A driver entry point, called on IOMMU `iommu` (and its vIOMMU domain for map/unmap/flush/attach_device).
   */
  call?:
    | 'amd_viommu_init'
    | 'viommu_private_space_init'
    | 'viommu_private_space_uninit'
    | 'set_iommu_dte'
    | 'iommu_flush_dte'
    | 'amd_iommu_completion_wait'
    | 'amd_iommu_flush_private_vm_region'
    | 'iommu_map'
    | 'iommu_unmap'
    | 'iommu_iova_to_phys'
    | 'attach_device'
    | 'detach_device'
    | 'amd_iommu_gid_alloc'
    | 'amd_iommu_gid_free'
    | 'iommu_reset_vmmio'
    | 'amd_viommu_init_one'
    | 'amd_viommu_uninit_one'
    | 'amd_viommu_set_device_mapping'
    | 'amd_viommu_domain_id_update'
    | 'amd_iommu_domain_alloc_paging'
    | 'amd_iommufd_viommu_init'
    | 'amd_iommufd_viommu_destroy'
    | 'amd_iommufd_vdevice_init'
    | 'iommufd_vdevice_destroy'
    | 'amd_iommufd_hw_queue_init'
    | 'iommufd_hw_queue_destroy'
    | 'amd_iommu_alloc_domain_nested'
    | 'nested_attach_device'
    | 'nested_domain_free';
  /**
   * Index of the IOMMU in hardware.iommus; default 0.
   */
  iommu?: number;
  /**
   * The entry point's arguments (see $defs/callArgs for each one's).
   */
  args?: {};
  /**
   * A repetition count (1..100000), or `{count, var}`, which binds var to 0, 1, ... count-1 in the step's args and expect (`${var}`) and compares every run's return, not just the last's.
   */
  repeat?:
    | number
    | {
        count: number;
        var: string;
      };
  viommu_access?: Access;
  dma?: Access1;
  /**
   * Return value for a call; translation result for an access.
   */
  expect?:
    | Ret
    | {
        pa?: Value;
        fault?:
          | 'not_present'
          | 'permission'
          | 'va_out_of_range'
          | 'reserved_next_level'
          | 'skipped_level_bits'
          | 'table_outside_memory'
          | 'illegal_dte'
          | 'translation_not_valid'
          | 'outside_memory';
        from_iotlb?: boolean;
        stale?: boolean;
      };
  check?: Expect;
  guest_commands?: GuestCommands;
  /**
   * Runs `steps` once per value of the variable, as if written out: each expanded step is named `name[var=value]` (nested loops list every variable). Compiled into plain steps (at most 100000 in all); for longer runs use `repeat: {count, var}` on one step. A `for` step has no call, args, expect, repeat or check of its own. Give the values as `in` or as `range`.
   */
  for?: {
    /**
     * The variable's name, used as `${name}` in the steps' args and expect.
     */
    var: string;
    /**
     * The values, in order: [4K, 8K, 2M].
     *
     * @minItems 1
     */
    in?: [Address, ...Address[]];
    /**
     * from, from + step, ... below to.
     */
    range?: {
      from: Address;
      /**
       * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
       */
      to: number | string;
      /**
       * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
       */
      step?: number | string;
    };
  };
  /**
   * The steps a `for` runs each time.
   *
   * @minItems 1
   */
  steps?: [Step, ...Step[]];
} & Step1 & {
    name?: string;
    /**
     * A driver entry point, called on IOMMU `iommu` (and its vIOMMU domain for map/unmap/flush/attach_device).
     */
    call?:
      | 'amd_viommu_init'
      | 'viommu_private_space_init'
      | 'viommu_private_space_uninit'
      | 'set_iommu_dte'
      | 'iommu_flush_dte'
      | 'amd_iommu_completion_wait'
      | 'amd_iommu_flush_private_vm_region'
      | 'iommu_map'
      | 'iommu_unmap'
      | 'iommu_iova_to_phys'
      | 'attach_device'
      | 'detach_device'
      | 'amd_iommu_gid_alloc'
      | 'amd_iommu_gid_free'
      | 'iommu_reset_vmmio'
      | 'amd_viommu_init_one'
      | 'amd_viommu_uninit_one'
      | 'amd_viommu_set_device_mapping'
      | 'amd_viommu_domain_id_update'
      | 'amd_iommu_domain_alloc_paging'
      | 'amd_iommufd_viommu_init'
      | 'amd_iommufd_viommu_destroy'
      | 'amd_iommufd_vdevice_init'
      | 'iommufd_vdevice_destroy'
      | 'amd_iommufd_hw_queue_init'
      | 'iommufd_hw_queue_destroy'
      | 'amd_iommu_alloc_domain_nested'
      | 'nested_attach_device'
      | 'nested_domain_free';
    /**
     * Index of the IOMMU in hardware.iommus; default 0.
     */
    iommu?: number;
    /**
     * The entry point's arguments (see $defs/callArgs for each one's).
     */
    args?: {};
    /**
     * A repetition count (1..100000), or `{count, var}`, which binds var to 0, 1, ... count-1 in the step's args and expect (`${var}`) and compares every run's return, not just the last's.
     */
    repeat?:
      | number
      | {
          count: number;
          var: string;
        };
    viommu_access?: Access;
    dma?: Access1;
    /**
     * Return value for a call; translation result for an access.
     */
    expect?:
      | Ret
      | {
          pa?: Value;
          fault?:
            | 'not_present'
            | 'permission'
            | 'va_out_of_range'
            | 'reserved_next_level'
            | 'skipped_level_bits'
            | 'table_outside_memory'
            | 'illegal_dte'
            | 'translation_not_valid'
            | 'outside_memory';
          from_iotlb?: boolean;
          stale?: boolean;
        };
    check?: Expect;
    guest_commands?: GuestCommands;
    /**
     * Runs `steps` once per value of the variable, as if written out: each expanded step is named `name[var=value]` (nested loops list every variable). Compiled into plain steps (at most 100000 in all); for longer runs use `repeat: {count, var}` on one step. A `for` step has no call, args, expect, repeat or check of its own. Give the values as `in` or as `range`.
     */
    for?: {
      /**
       * The variable's name, used as `${name}` in the steps' args and expect.
       */
      var: string;
      /**
       * The values, in order: [4K, 8K, 2M].
       *
       * @minItems 1
       */
      in?: [Address, ...Address[]];
      /**
       * from, from + step, ... below to.
       */
      range?: {
        from: Address;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        to: number | string;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        step?: number | string;
      };
    };
    /**
     * The steps a `for` runs each time.
     *
     * @minItems 1
     */
    steps?: [Step, ...Step[]];
  } & Step1 & {
    name?: string;
    /**
     * A driver entry point, called on IOMMU `iommu` (and its vIOMMU domain for map/unmap/flush/attach_device).
     */
    call?:
      | 'amd_viommu_init'
      | 'viommu_private_space_init'
      | 'viommu_private_space_uninit'
      | 'set_iommu_dte'
      | 'iommu_flush_dte'
      | 'amd_iommu_completion_wait'
      | 'amd_iommu_flush_private_vm_region'
      | 'iommu_map'
      | 'iommu_unmap'
      | 'iommu_iova_to_phys'
      | 'attach_device'
      | 'detach_device'
      | 'amd_iommu_gid_alloc'
      | 'amd_iommu_gid_free'
      | 'iommu_reset_vmmio'
      | 'amd_viommu_init_one'
      | 'amd_viommu_uninit_one'
      | 'amd_viommu_set_device_mapping'
      | 'amd_viommu_domain_id_update'
      | 'amd_iommu_domain_alloc_paging'
      | 'amd_iommufd_viommu_init'
      | 'amd_iommufd_viommu_destroy'
      | 'amd_iommufd_vdevice_init'
      | 'iommufd_vdevice_destroy'
      | 'amd_iommufd_hw_queue_init'
      | 'iommufd_hw_queue_destroy'
      | 'amd_iommu_alloc_domain_nested'
      | 'nested_attach_device'
      | 'nested_domain_free';
    /**
     * Index of the IOMMU in hardware.iommus; default 0.
     */
    iommu?: number;
    /**
     * The entry point's arguments (see $defs/callArgs for each one's).
     */
    args?: {};
    /**
     * A repetition count (1..100000), or `{count, var}`, which binds var to 0, 1, ... count-1 in the step's args and expect (`${var}`) and compares every run's return, not just the last's.
     */
    repeat?:
      | number
      | {
          count: number;
          var: string;
        };
    viommu_access?: Access;
    dma?: Access1;
    /**
     * Return value for a call; translation result for an access.
     */
    expect?:
      | Ret
      | {
          pa?: Value;
          fault?:
            | 'not_present'
            | 'permission'
            | 'va_out_of_range'
            | 'reserved_next_level'
            | 'skipped_level_bits'
            | 'table_outside_memory'
            | 'illegal_dte'
            | 'translation_not_valid'
            | 'outside_memory';
          from_iotlb?: boolean;
          stale?: boolean;
        };
    check?: Expect;
    guest_commands?: GuestCommands;
    /**
     * Runs `steps` once per value of the variable, as if written out: each expanded step is named `name[var=value]` (nested loops list every variable). Compiled into plain steps (at most 100000 in all); for longer runs use `repeat: {count, var}` on one step. A `for` step has no call, args, expect, repeat or check of its own. Give the values as `in` or as `range`.
     */
    for?: {
      /**
       * The variable's name, used as `${name}` in the steps' args and expect.
       */
      var: string;
      /**
       * The values, in order: [4K, 8K, 2M].
       *
       * @minItems 1
       */
      in?: [Address, ...Address[]];
      /**
       * from, from + step, ... below to.
       */
      range?: {
        from: Address;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        to: number | string;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        step?: number | string;
      };
    };
    /**
     * The steps a `for` runs each time.
     *
     * @minItems 1
     */
    steps?: [Step, ...Step[]];
  } & Step1 & {
    name?: string;
    /**
     * A driver entry point, called on IOMMU `iommu` (and its vIOMMU domain for map/unmap/flush/attach_device).
     */
    call?:
      | 'amd_viommu_init'
      | 'viommu_private_space_init'
      | 'viommu_private_space_uninit'
      | 'set_iommu_dte'
      | 'iommu_flush_dte'
      | 'amd_iommu_completion_wait'
      | 'amd_iommu_flush_private_vm_region'
      | 'iommu_map'
      | 'iommu_unmap'
      | 'iommu_iova_to_phys'
      | 'attach_device'
      | 'detach_device'
      | 'amd_iommu_gid_alloc'
      | 'amd_iommu_gid_free'
      | 'iommu_reset_vmmio'
      | 'amd_viommu_init_one'
      | 'amd_viommu_uninit_one'
      | 'amd_viommu_set_device_mapping'
      | 'amd_viommu_domain_id_update'
      | 'amd_iommu_domain_alloc_paging'
      | 'amd_iommufd_viommu_init'
      | 'amd_iommufd_viommu_destroy'
      | 'amd_iommufd_vdevice_init'
      | 'iommufd_vdevice_destroy'
      | 'amd_iommufd_hw_queue_init'
      | 'iommufd_hw_queue_destroy'
      | 'amd_iommu_alloc_domain_nested'
      | 'nested_attach_device'
      | 'nested_domain_free';
    /**
     * Index of the IOMMU in hardware.iommus; default 0.
     */
    iommu?: number;
    /**
     * The entry point's arguments (see $defs/callArgs for each one's).
     */
    args?: {};
    /**
     * A repetition count (1..100000), or `{count, var}`, which binds var to 0, 1, ... count-1 in the step's args and expect (`${var}`) and compares every run's return, not just the last's.
     */
    repeat?:
      | number
      | {
          count: number;
          var: string;
        };
    viommu_access?: Access;
    dma?: Access1;
    /**
     * Return value for a call; translation result for an access.
     */
    expect?:
      | Ret
      | {
          pa?: Value;
          fault?:
            | 'not_present'
            | 'permission'
            | 'va_out_of_range'
            | 'reserved_next_level'
            | 'skipped_level_bits'
            | 'table_outside_memory'
            | 'illegal_dte'
            | 'translation_not_valid'
            | 'outside_memory';
          from_iotlb?: boolean;
          stale?: boolean;
        };
    check?: Expect;
    guest_commands?: GuestCommands;
    /**
     * Runs `steps` once per value of the variable, as if written out: each expanded step is named `name[var=value]` (nested loops list every variable). Compiled into plain steps (at most 100000 in all); for longer runs use `repeat: {count, var}` on one step. A `for` step has no call, args, expect, repeat or check of its own. Give the values as `in` or as `range`.
     */
    for?: {
      /**
       * The variable's name, used as `${name}` in the steps' args and expect.
       */
      var: string;
      /**
       * The values, in order: [4K, 8K, 2M].
       *
       * @minItems 1
       */
      in?: [Address, ...Address[]];
      /**
       * from, from + step, ... below to.
       */
      range?: {
        from: Address;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        to: number | string;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        step?: number | string;
      };
    };
    /**
     * The steps a `for` runs each time.
     *
     * @minItems 1
     */
    steps?: [Step, ...Step[]];
  } & Step1 & {
    name?: string;
    /**
     * A driver entry point, called on IOMMU `iommu` (and its vIOMMU domain for map/unmap/flush/attach_device).
     */
    call?:
      | 'amd_viommu_init'
      | 'viommu_private_space_init'
      | 'viommu_private_space_uninit'
      | 'set_iommu_dte'
      | 'iommu_flush_dte'
      | 'amd_iommu_completion_wait'
      | 'amd_iommu_flush_private_vm_region'
      | 'iommu_map'
      | 'iommu_unmap'
      | 'iommu_iova_to_phys'
      | 'attach_device'
      | 'detach_device'
      | 'amd_iommu_gid_alloc'
      | 'amd_iommu_gid_free'
      | 'iommu_reset_vmmio'
      | 'amd_viommu_init_one'
      | 'amd_viommu_uninit_one'
      | 'amd_viommu_set_device_mapping'
      | 'amd_viommu_domain_id_update'
      | 'amd_iommu_domain_alloc_paging'
      | 'amd_iommufd_viommu_init'
      | 'amd_iommufd_viommu_destroy'
      | 'amd_iommufd_vdevice_init'
      | 'iommufd_vdevice_destroy'
      | 'amd_iommufd_hw_queue_init'
      | 'iommufd_hw_queue_destroy'
      | 'amd_iommu_alloc_domain_nested'
      | 'nested_attach_device'
      | 'nested_domain_free';
    /**
     * Index of the IOMMU in hardware.iommus; default 0.
     */
    iommu?: number;
    /**
     * The entry point's arguments (see $defs/callArgs for each one's).
     */
    args?: {};
    /**
     * A repetition count (1..100000), or `{count, var}`, which binds var to 0, 1, ... count-1 in the step's args and expect (`${var}`) and compares every run's return, not just the last's.
     */
    repeat?:
      | number
      | {
          count: number;
          var: string;
        };
    viommu_access?: Access;
    dma?: Access1;
    /**
     * Return value for a call; translation result for an access.
     */
    expect?:
      | Ret
      | {
          pa?: Value;
          fault?:
            | 'not_present'
            | 'permission'
            | 'va_out_of_range'
            | 'reserved_next_level'
            | 'skipped_level_bits'
            | 'table_outside_memory'
            | 'illegal_dte'
            | 'translation_not_valid'
            | 'outside_memory';
          from_iotlb?: boolean;
          stale?: boolean;
        };
    check?: Expect;
    guest_commands?: GuestCommands;
    /**
     * Runs `steps` once per value of the variable, as if written out: each expanded step is named `name[var=value]` (nested loops list every variable). Compiled into plain steps (at most 100000 in all); for longer runs use `repeat: {count, var}` on one step. A `for` step has no call, args, expect, repeat or check of its own. Give the values as `in` or as `range`.
     */
    for?: {
      /**
       * The variable's name, used as `${name}` in the steps' args and expect.
       */
      var: string;
      /**
       * The values, in order: [4K, 8K, 2M].
       *
       * @minItems 1
       */
      in?: [Address, ...Address[]];
      /**
       * from, from + step, ... below to.
       */
      range?: {
        from: Address;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        to: number | string;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        step?: number | string;
      };
    };
    /**
     * The steps a `for` runs each time.
     *
     * @minItems 1
     */
    steps?: [Step, ...Step[]];
  } & Step1 & {
    name?: string;
    /**
     * A driver entry point, called on IOMMU `iommu` (and its vIOMMU domain for map/unmap/flush/attach_device).
     */
    call?:
      | 'amd_viommu_init'
      | 'viommu_private_space_init'
      | 'viommu_private_space_uninit'
      | 'set_iommu_dte'
      | 'iommu_flush_dte'
      | 'amd_iommu_completion_wait'
      | 'amd_iommu_flush_private_vm_region'
      | 'iommu_map'
      | 'iommu_unmap'
      | 'iommu_iova_to_phys'
      | 'attach_device'
      | 'detach_device'
      | 'amd_iommu_gid_alloc'
      | 'amd_iommu_gid_free'
      | 'iommu_reset_vmmio'
      | 'amd_viommu_init_one'
      | 'amd_viommu_uninit_one'
      | 'amd_viommu_set_device_mapping'
      | 'amd_viommu_domain_id_update'
      | 'amd_iommu_domain_alloc_paging'
      | 'amd_iommufd_viommu_init'
      | 'amd_iommufd_viommu_destroy'
      | 'amd_iommufd_vdevice_init'
      | 'iommufd_vdevice_destroy'
      | 'amd_iommufd_hw_queue_init'
      | 'iommufd_hw_queue_destroy'
      | 'amd_iommu_alloc_domain_nested'
      | 'nested_attach_device'
      | 'nested_domain_free';
    /**
     * Index of the IOMMU in hardware.iommus; default 0.
     */
    iommu?: number;
    /**
     * The entry point's arguments (see $defs/callArgs for each one's).
     */
    args?: {};
    /**
     * A repetition count (1..100000), or `{count, var}`, which binds var to 0, 1, ... count-1 in the step's args and expect (`${var}`) and compares every run's return, not just the last's.
     */
    repeat?:
      | number
      | {
          count: number;
          var: string;
        };
    viommu_access?: Access;
    dma?: Access1;
    /**
     * Return value for a call; translation result for an access.
     */
    expect?:
      | Ret
      | {
          pa?: Value;
          fault?:
            | 'not_present'
            | 'permission'
            | 'va_out_of_range'
            | 'reserved_next_level'
            | 'skipped_level_bits'
            | 'table_outside_memory'
            | 'illegal_dte'
            | 'translation_not_valid'
            | 'outside_memory';
          from_iotlb?: boolean;
          stale?: boolean;
        };
    check?: Expect;
    guest_commands?: GuestCommands;
    /**
     * Runs `steps` once per value of the variable, as if written out: each expanded step is named `name[var=value]` (nested loops list every variable). Compiled into plain steps (at most 100000 in all); for longer runs use `repeat: {count, var}` on one step. A `for` step has no call, args, expect, repeat or check of its own. Give the values as `in` or as `range`.
     */
    for?: {
      /**
       * The variable's name, used as `${name}` in the steps' args and expect.
       */
      var: string;
      /**
       * The values, in order: [4K, 8K, 2M].
       *
       * @minItems 1
       */
      in?: [Address, ...Address[]];
      /**
       * from, from + step, ... below to.
       */
      range?: {
        from: Address;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        to: number | string;
        /**
         * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
         */
        step?: number | string;
      };
    };
    /**
     * The steps a `for` runs each time.
     *
     * @minItems 1
     */
    steps?: [Step, ...Step[]];
  } & Step1;
/**
 * The arguments each entry point takes.
 */
export type CallArgs = {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
} & {
  [k: string]: unknown;
};
/**
 * Expected return: 0, a negative errno as a name (ENOMEM or -ENOMEM) or number, a size (0x2000, 8K), a value expression over symbols ("1M + 1M", "alloc(...) + 0x10"), void for a void function, or oops. In a loop, an expression over its variables ("1 << ${lg2}").
 */
export type Ret = number | string | string;
/**
 * A 64-bit value stated as a literal or an expression over symbols resolved after the run, so a spec never needs an address the allocator picked: an address, `{alloc: glob, nth}`, `{table: {domain, level, iova}}` (the physical address of the level-`level` table the walk of `iova` reads; generic_pt levels, 0 = the table of 4 KiB entries), `{or: [...]}`, `{add: [...]}`, `{va: value}` (the direct-map kernel address), or the compact string form `"0x6000000000000401 | table(2, L1, 0x0)"` with C's operators `|`, `&`, `<<`, `>>`, `+`, `-`, `*` and parentheses, table(domain, Lk, iova), alloc(glob[, nth]), domain(id) (the domain object's kernel address) and va(expr).
 */
export type Value =
  | AddressOrAlloc
  | string
  | {
      table: {
        domain: number;
        level: number;
        iova?: Address;
      };
    }
  | {
      /**
       * @minItems 1
       */
      or: [Value, ...Value[]];
    }
  | {
      /**
       * @minItems 1
       */
      add: [Value, ...Value[]];
    }
  | {
      va: Value;
    };
/**
 * An address, or the address of an allocation named by its site and ordinal (so specs survive unrelated allocations moving memory).
 */
export type AddressOrAlloc =
  | Address
  | {
      /**
       * Site name or glob of the allocation.
       */
      alloc: string;
      /**
       * Which matching allocation, 1-based; default 1.
       */
      nth?: number;
      offset?: Address;
    };
/**
 * A kernel log line as `level: text`, or {level, match} with a regular expression.
 */
export type LogLine =
  | string
  | {
      level?: 'emerg' | 'alert' | 'crit' | 'err' | 'warn' | 'notice' | 'info' | 'debug';
      match: string;
    };
/**
 * A command: its decoded line exactly, `{match: regex}` over the decoded line, or `{data: [w0, w1, w2, w3]}`, its four raw 32-bit words.
 */
export type CommandMatcher =
  | string
  | {
      /**
       * A regular expression the decoded line must match.
       */
      match: string;
    }
  | {
      /**
       * The four raw 32-bit words, as in the ring.
       *
       * @minItems 4
       * @maxItems 4
       */
      data: [Value, Value, Value, Value];
    };
/**
 * An allocation: its call-path site exactly, or `{site: glob, order, count}`.
 */
export type AllocMatcher =
  | string
  | {
      /**
       * A glob over call-path sites.
       */
      site: string;
      /**
       * The allocation's page order (bytes = 4 KiB << order).
       */
      order?: number;
      /**
       * How many allocations it matches; default 1.
       */
      count?: number;
    };
/**
 * One guest command: four 32-bit words, or a decoded form encoded as a Linux guest's build_* functions do (domid and devid are the guest's own IDs).
 */
export type GuestCommand =
  | [number | string, number | string, number | string, number | string]
  | {
      invalidate_iommu_pages: {
        domid: number;
        address: Address;
        size: Address;
        pasid?: number;
        gn?: boolean;
      };
    }
  | {
      invalidate_devtab_entry: {
        devid: number;
      };
    }
  | {
      invalidate_iotlb_pages: {
        devid: number;
        address: Address;
        size: Address;
        qdep?: number;
        pasid?: number;
        gn?: boolean;
      };
    }
  | {
      /**
       * store: GPA of the semaphore, 8-byte aligned (absent: no store); data: the value stored; interrupt: raise the guest's ComWaitInt.
       */
      completion_wait: {
        store?: Address;
        data?: Address;
        interrupt?: boolean;
      };
    }
  | {
      invalidate_iommu_all: {};
    };
export type Step1 =
  | {
      [k: string]: unknown;
    }
  | {
      [k: string]: unknown;
    }
  | {
      [k: string]: unknown;
    }
  | {
      [k: string]: unknown;
    }
  | {
      [k: string]: unknown;
    };

/**
 * A viommu-spec scenario: simulated hardware, failure points, driver steps and the expected end state.
 */
export interface Spec {
  /**
   * What the spec shows, one line.
   */
  name: string;
  description?: string;
  tags?: string[];
  /**
   * Do not run this spec (every case of it): the reason, shown in every report and counted.
   */
  skip?: string;
  /**
   * A spec still to be written or made to pass: not run, shown as todo with this note and counted.
   */
  todo?: string;
  /**
   * Run only the specs and cases marked `only: true` among those selected; `run --ci` fails on it, so it is never committed.
   */
  only?: true;
  /**
   * A fragment file (*.fragment.yaml) deep-merged under this spec, relative to it.
   */
  extends?: string;
  hardware?: Hardware;
  faults?: Fault[];
  /**
   * @minItems 1
   * @maxItems 10000
   */
  steps: [Step, ...Step[]];
  /**
   * After a step oopses, later steps are not run (`stop`, the default: the task that oopsed is gone) or run on the same machine (`continue`).
   */
  after_oops?: 'stop' | 'continue';
  expect?: Expect1;
  /**
   * Compare the whole normalised end state with <spec>.golden.json beside the spec.
   */
  golden?: boolean;
  /**
   * Named variations of the spec: each overrides parts of it and runs as its own spec.
   *
   * @minItems 1
   * @maxItems 256
   */
  cases?: [Case, ...Case[]];
  sweep?: Sweep1;
}
/**
 * The simulated machine. A spec that extends a fragment may give only what differs; after the merge, memory and iommus are required.
 */
export interface Hardware {
  /**
   * @minItems 1
   * @maxItems 16
   */
  memory?:
    | [
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ]
    | [
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        },
        {
          node: number;
          base: Address;
          size: Address;
        }
      ];
  /**
   * @minItems 1
   * @maxItems 32
   */
  iommus?: [Iommu, ...Iommu[]];
  driver?: {
    /**
     * Driver revision under test, by name: v3 (the patch as posted), v3-err-ptr-fix, or c (the patch's own C, with patch or module); default v3.
     */
    variant?: string;
    /**
     * amd_iommu=pgsize_4k; default false.
     */
    pgsize_4k?: boolean;
    /**
     * The amd_iommu_viommu switch; default true.
     */
    viommu?: boolean;
    /**
     * Variant c: the patch (or .c file) whose added functions are compiled to WebAssembly and run, relative to the spec file; built on demand and cached by content hash.
     */
    patch?: string;
    /**
     * Variant c: a WebAssembly module made by `viommu-spec build-driver`, relative to the spec file.
     */
    module?: string;
    /**
     * CONFIG_DEBUG_GENERIC_PT=y, as the generic_pt KUnit suite's .kunitconfig sets it: pt_iommu_init then accepts a config without the format's forced features (for AMD v1 a top that cannot grow, e.g. hw_max_vasz_lg2 32 from starting level 2); default false, where such a config is -EOPNOTSUPP.
     */
    debug_generic_pt?: boolean;
  };
}
export interface Iommu {
  /**
   * seg:bus:dev.fn of the IOMMU itself.
   */
  devid: string;
  /**
   * NUMA node; default 0.
   */
  node?: number;
  /**
   * EFR.HATS as host page-table levels, or hatdis; default 4.
   */
  hats?: 4 | 5 | 6 | 'hatdis';
  /**
   * The NpCache capability (a guest behind an emulated IOMMU); default false.
   */
  npcache?: boolean;
  /**
   * Whether a VF_CNTL DevID/DomID map write stores the entry into the guest's table in the IOMMU's private space, through its own DTE. An assumption (runtime/hw/viommu/ASSUMPTIONS.md); default true.
   */
  did_map_stores?: boolean;
  /**
   * What RESET_VMMIO resets of the guest it names: guest_mmio (its VF page and its VF_CNTL queue registers 0x20/0x28/0x30; bit 31 alone: the command head/tail and 0x20), vf_page (the VF page only), or none. An assumption (runtime/hw/viommu/ASSUMPTIONS.md); default guest_mmio.
   */
  reset_vmmio?: 'guest_mmio' | 'vf_page' | 'none';
  /**
   * The event type the hardware posts when it cannot process a guest command (its GPA does not translate, or its guest DomID/DevID has no mapping): VIOMMU_HW_ERR (0xC) or GUEST_EVENT_FAULT (0xB). An assumption (runtime/hw/viommu/ASSUMPTIONS.md); default viommu_hw_err.
   */
  guest_error_event?: 'viommu_hw_err' | 'guest_event_fault';
  /**
   * Whether control bit 60 (GstBufferTRPMode) can be set; viommu_enable fails with -EINVAL when it cannot. An assumption (runtime/hw/viommu/ASSUMPTIONS.md); default true.
   */
  gst_buffer_trp_mode?: boolean;
  /**
   * EFR FEATURE_VIOMMU (bit 55); default true.
   */
  viommu?: boolean;
  processor?: Processor;
  /**
   * Command ring size in 16-byte entries; default 512 (8 KiB).
   */
  ring_entries?: 256 | 512 | 1024 | 2048 | 4096 | 8192 | 16384 | 32768;
  pci?: {
    /**
     * The vIOMMU vendor-specific capability; default true.
     */
    vendor_capability?: boolean;
    /**
     * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
     */
    vf_bar?: number | string;
    /**
     * A 64-bit value: an integer, or a string in hex (0x...) or decimal with an optional K/M/G/T (or KiB/MiB/GiB/TiB) suffix.
     */
    vf_cntl_bar?: number | string;
  };
}
/**
 * An access by the IOMMU hardware to its private address space.
 */
export interface Access {
  iommu?: number;
  devid?: number;
  iova: Address;
  access: 'read' | 'write';
}
/**
 * A DMA by a device behind the IOMMU (give devid).
 */
export interface Access1 {
  iommu?: number;
  devid?: number;
  iova: Address;
  access: 'read' | 'write';
}
/**
 * End-state expectations that must hold right after this step (the same keys as `expect:`; not checked in sweep runs).
 */
export interface Expect {
  /**
   * The whole kernel log, in order (debug lines included).
   */
  log?: LogLine[];
  /**
   * The kernel log less pr_debug lines, in order.
   */
  log_without_debug?: LogLine[];
  /**
   * Lines that appear in this order, others between allowed.
   */
  log_contains?: LogLine[];
  /**
   * false: no oops; otherwise the oops that ended a step.
   */
  oops?:
    | false
    | {
        /**
         * The oops line, exactly, or {match: regex}.
         */
        message?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        /**
         * The function it happened in, exactly, or {match: regex}.
         */
        function?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        step?: string;
      };
  /**
   * Mapped ranges per domain ID; adjacent leaves of one mapping shown as one range. A domain named must exist at the end; `absent` states that it does not.
   */
  mappings?: {
    /**
     * Expected a list of ranges, or `absent` for a domain that must not exist.
     */
    [k: string]: 'absent' | (Range | string)[];
  };
  /**
   * Every page that is not WB at the end: ranges `{pa, size, type}` (or their one-line form), compared as the end state merges them; or, with any `{alloc: glob, count, type}` item, the set of such pages, so separate allocations need not be merged.
   */
  memtypes?: (
    | {
        pa: Value;
        size: Address;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | {
        /**
         * A glob over allocation sites: every page of each matching allocation has `type`.
         */
        alloc: string;
        /**
         * How many allocations the glob matches; default 1.
         */
        count?: number;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | string
  )[];
  /**
   * Commands each IOMMU executed, keyed by IOMMU index: a list (executed, in order), or `{executed, queued, ring}`: `queued` lists commands written to the ring but not executed (head to tail), `ring` the head and tail byte offsets and the count of pending commands. Each command is its decoded line, `{match: regex}` over the decoded line, or `{data: [w0, w1, w2, w3]}` raw words.
   */
  commands?: {
    [k: string]:
      | CommandMatcher[]
      | {
          executed?: CommandMatcher[];
          queued?: CommandMatcher[];
          ring?: {
            head?: Address;
            tail?: Address;
            pending?: number;
          };
        };
  };
  /**
   * Host invalidations each IOMMU executed that a later executed completion wait covered, merged per domain ("domain=2 [0x0, +0x800000)", "[all]"), then the device-table entries ("devid=0x10"), keyed by IOMMU index.
   */
  flushed?: {
    [k: string]: string[];
  };
  /**
   * Host invalidations and device-table entries each IOMMU executed that no executed completion wait followed, merged the same way.
   */
  not_flushed?: {
    [k: string]: string[];
  };
  iotlb?: {
    [k: string]: string[];
  };
  /**
   * Allocations made by the steps and still live at the end: each an exact site, or `{site: glob, order, count}`; every live allocation must be matched, in any order.
   */
  leaks?: AllocMatcher[];
  /**
   * Allocations freed during the steps: exact sites in free order, or `{site: glob, order, count}` (then in any order); every freed allocation must be matched.
   */
  freed?: AllocMatcher[];
  /**
   * Kernel and hardware events: WARN, bad frees, pages freed while not WB, IO page faults, stale IOTLB hits.
   */
  events?: string[];
  /**
   * Every invariant violation of the end state, as a sweep row lists them (`name: message`); [] for none.
   */
  invariants?: string[];
  /**
   * site#call of every injected failure.
   */
  faults_fired?: string[];
  /**
   * Domain IDs allocated at the end.
   */
  domain_ids?: number[];
  /**
   * The top of each paging domain by ID: `level` (the generic_pt level of the top table, 0 = the table of 4 KiB entries), `mode` (what the DTE is told: AMD mode = level + 1) and `top` (the top table's physical address, a value expression such as "table(3, L2, 0x0)"); only what is stated is compared. `absent` states that the domain does not exist.
   */
  domains?: {
    /**
     * A domain's top as {level: 0..5, mode: 1..6, top: value}, or `absent`.
     */
    [k: string]:
      | 'absent'
      | {
          level?: number;
          mode?: number;
          top?: Value;
        };
  };
  /**
   * Raw page-table entries: the entry the walk of `iova` ends on; with `level`, the entry that walk reads at that level; with `level` and `index`, that entry of the level's table on the walk of `iova` (default 0); or with `table: {level, iova}`, a whole table whose entries are 0 but those listed in `nonzero` (by index). Levels are generic_pt levels: 0 is the table of 4 KiB entries (AMD level 1).
   */
  ptes?: {
    domain: number;
    iova?: Address;
    level?: number;
    index?: number;
    value?: Value;
    table?: {
      level: number;
      iova?: Address;
    };
    nonzero?: {
      [k: string]: Value;
    };
  }[];
  dtes?: {
    iommu?: number;
    devid: number;
    /**
     * @minItems 2
     * @maxItems 4
     */
    data: [Value, Value] | [Value, Value, Value] | [Value, Value, Value, Value];
  }[];
  /**
   * Driver structs by key: `iommu<index>` (struct amd_iommu) or `viommu<object ID>` (struct amd_iommu_viommu), each `absent` or its fields: a value expression (`domain(2)`, `va(alloc(...))`), null for NULL, or a list of those for an array field.
   */
  driver?: {
    [k: string]:
      | 'absent'
      | {
          [k: string]: (null | Value) | (null | Value)[];
        };
  };
  /**
   * vIOMMU guests by IOMMU and guest ID, each `absent: true` (nothing of it remains) or the fields to compare: `allocated` (gid_ida), `trans_devid` (of the live vIOMMU holding the gid; null: none), `devid_table`/`domid_table` (the address the table's IPA translates to through the private space; null: unmapped), `vf_cntl` and `vf` (the non-zero registers by name, exactly), `devid_map`/`domid_map` (the tables' non-default entries, exactly) and `queues` (the queues VF_CNTL sets up, exactly, by type, with the fields stated).
   */
  guests?: {
    iommu?: number;
    gid: number;
    absent?: true;
    allocated?: boolean;
    trans_devid?: null | Value;
    devid_table?: null | Value;
    domid_table?: null | Value;
    vf_cntl?: {
      [k: string]: Value;
    };
    vf?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    devid_map?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    domid_map?: {
      [k: string]: Value;
    };
    queues?: {
      [k: string]: {
        base?: Value;
        length?: number;
        flags?: string[];
        head?: Value;
        tail?: Value;
        halted?: boolean;
      };
    };
  }[];
}
export interface Range {
  iova: Address;
  size: Address;
  pa?: Value;
  page_size?: Address;
  perm?: 'r' | 'w' | 'rw';
}
/**
 * A vIOMMU guest writes commands into its command buffer (guest memory, at its tail) and writes its tail in its VF page; the step's result is where the first slot translated (compare with expect: {pa} or {fault}).
 */
export interface GuestCommands {
  /**
   * Index of the IOMMU in hardware.iommus; default 0.
   */
  iommu?: number;
  /**
   * The guest ID: its VF page is VF BAR + gid × 4 KiB, its VF_CNTL block VF_CNTL BAR + gid × 64.
   */
  gid: number;
  /**
   * Written in order from the guest's tail, wrapping at the buffer's length.
   *
   * @maxItems 4096
   */
  commands: GuestCommand[];
  /**
   * The tail value written (bits 18:4 kept); default: just past the commands.
   */
  tail?: number;
}
/**
 * Only what is stated is compared.
 */
export interface Expect1 {
  /**
   * The whole kernel log, in order (debug lines included).
   */
  log?: LogLine[];
  /**
   * The kernel log less pr_debug lines, in order.
   */
  log_without_debug?: LogLine[];
  /**
   * Lines that appear in this order, others between allowed.
   */
  log_contains?: LogLine[];
  /**
   * false: no oops; otherwise the oops that ended a step.
   */
  oops?:
    | false
    | {
        /**
         * The oops line, exactly, or {match: regex}.
         */
        message?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        /**
         * The function it happened in, exactly, or {match: regex}.
         */
        function?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        step?: string;
      };
  /**
   * Mapped ranges per domain ID; adjacent leaves of one mapping shown as one range. A domain named must exist at the end; `absent` states that it does not.
   */
  mappings?: {
    /**
     * Expected a list of ranges, or `absent` for a domain that must not exist.
     */
    [k: string]: 'absent' | (Range | string)[];
  };
  /**
   * Every page that is not WB at the end: ranges `{pa, size, type}` (or their one-line form), compared as the end state merges them; or, with any `{alloc: glob, count, type}` item, the set of such pages, so separate allocations need not be merged.
   */
  memtypes?: (
    | {
        pa: Value;
        size: Address;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | {
        /**
         * A glob over allocation sites: every page of each matching allocation has `type`.
         */
        alloc: string;
        /**
         * How many allocations the glob matches; default 1.
         */
        count?: number;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | string
  )[];
  /**
   * Commands each IOMMU executed, keyed by IOMMU index: a list (executed, in order), or `{executed, queued, ring}`: `queued` lists commands written to the ring but not executed (head to tail), `ring` the head and tail byte offsets and the count of pending commands. Each command is its decoded line, `{match: regex}` over the decoded line, or `{data: [w0, w1, w2, w3]}` raw words.
   */
  commands?: {
    [k: string]:
      | CommandMatcher[]
      | {
          executed?: CommandMatcher[];
          queued?: CommandMatcher[];
          ring?: {
            head?: Address;
            tail?: Address;
            pending?: number;
          };
        };
  };
  /**
   * Host invalidations each IOMMU executed that a later executed completion wait covered, merged per domain ("domain=2 [0x0, +0x800000)", "[all]"), then the device-table entries ("devid=0x10"), keyed by IOMMU index.
   */
  flushed?: {
    [k: string]: string[];
  };
  /**
   * Host invalidations and device-table entries each IOMMU executed that no executed completion wait followed, merged the same way.
   */
  not_flushed?: {
    [k: string]: string[];
  };
  iotlb?: {
    [k: string]: string[];
  };
  /**
   * Allocations made by the steps and still live at the end: each an exact site, or `{site: glob, order, count}`; every live allocation must be matched, in any order.
   */
  leaks?: AllocMatcher[];
  /**
   * Allocations freed during the steps: exact sites in free order, or `{site: glob, order, count}` (then in any order); every freed allocation must be matched.
   */
  freed?: AllocMatcher[];
  /**
   * Kernel and hardware events: WARN, bad frees, pages freed while not WB, IO page faults, stale IOTLB hits.
   */
  events?: string[];
  /**
   * Every invariant violation of the end state, as a sweep row lists them (`name: message`); [] for none.
   */
  invariants?: string[];
  /**
   * site#call of every injected failure.
   */
  faults_fired?: string[];
  /**
   * Domain IDs allocated at the end.
   */
  domain_ids?: number[];
  /**
   * The top of each paging domain by ID: `level` (the generic_pt level of the top table, 0 = the table of 4 KiB entries), `mode` (what the DTE is told: AMD mode = level + 1) and `top` (the top table's physical address, a value expression such as "table(3, L2, 0x0)"); only what is stated is compared. `absent` states that the domain does not exist.
   */
  domains?: {
    /**
     * A domain's top as {level: 0..5, mode: 1..6, top: value}, or `absent`.
     */
    [k: string]:
      | 'absent'
      | {
          level?: number;
          mode?: number;
          top?: Value;
        };
  };
  /**
   * Raw page-table entries: the entry the walk of `iova` ends on; with `level`, the entry that walk reads at that level; with `level` and `index`, that entry of the level's table on the walk of `iova` (default 0); or with `table: {level, iova}`, a whole table whose entries are 0 but those listed in `nonzero` (by index). Levels are generic_pt levels: 0 is the table of 4 KiB entries (AMD level 1).
   */
  ptes?: {
    domain: number;
    iova?: Address;
    level?: number;
    index?: number;
    value?: Value;
    table?: {
      level: number;
      iova?: Address;
    };
    nonzero?: {
      [k: string]: Value;
    };
  }[];
  dtes?: {
    iommu?: number;
    devid: number;
    /**
     * @minItems 2
     * @maxItems 4
     */
    data: [Value, Value] | [Value, Value, Value] | [Value, Value, Value, Value];
  }[];
  /**
   * Driver structs by key: `iommu<index>` (struct amd_iommu) or `viommu<object ID>` (struct amd_iommu_viommu), each `absent` or its fields: a value expression (`domain(2)`, `va(alloc(...))`), null for NULL, or a list of those for an array field.
   */
  driver?: {
    [k: string]:
      | 'absent'
      | {
          [k: string]: (null | Value) | (null | Value)[];
        };
  };
  /**
   * vIOMMU guests by IOMMU and guest ID, each `absent: true` (nothing of it remains) or the fields to compare: `allocated` (gid_ida), `trans_devid` (of the live vIOMMU holding the gid; null: none), `devid_table`/`domid_table` (the address the table's IPA translates to through the private space; null: unmapped), `vf_cntl` and `vf` (the non-zero registers by name, exactly), `devid_map`/`domid_map` (the tables' non-default entries, exactly) and `queues` (the queues VF_CNTL sets up, exactly, by type, with the fields stated).
   */
  guests?: {
    iommu?: number;
    gid: number;
    absent?: true;
    allocated?: boolean;
    trans_devid?: null | Value;
    devid_table?: null | Value;
    domid_table?: null | Value;
    vf_cntl?: {
      [k: string]: Value;
    };
    vf?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    devid_map?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    domid_map?: {
      [k: string]: Value;
    };
    queues?: {
      [k: string]: {
        base?: Value;
        length?: number;
        flags?: string[];
        head?: Value;
        tail?: Value;
        halted?: boolean;
      };
    };
  }[];
}
export interface Case {
  name: string;
  /**
   * What this case shows, for the reader (like the spec's own description).
   */
  description?: string;
  /**
   * Do not run this case: the reason. Replaces the spec's skip/todo/only.
   */
  skip?: string;
  /**
   * A case still to be written or made to pass: not run. Replaces the spec's skip/todo/only.
   */
  todo?: string;
  /**
   * Run only the cases marked so; replaces the spec's skip/todo/only.
   */
  only?: true;
  /**
   * Deep-merged over the spec's hardware.
   */
  hardware?: {};
  /**
   * Replaces the spec's faults.
   */
  faults?: Fault[];
  /**
   * Replaces the spec's steps.
   *
   * @minItems 1
   */
  steps?: [Step, ...Step[]];
  /**
   * After a step oopses, later steps are not run (`stop`, the default: the task that oopsed is gone) or run on the same machine (`continue`).
   */
  after_oops?: 'stop' | 'continue';
  expect?: Expect2;
  golden?: boolean;
  sweep?: Sweep;
}
/**
 * Only what is stated is compared.
 */
export interface Expect2 {
  /**
   * The whole kernel log, in order (debug lines included).
   */
  log?: LogLine[];
  /**
   * The kernel log less pr_debug lines, in order.
   */
  log_without_debug?: LogLine[];
  /**
   * Lines that appear in this order, others between allowed.
   */
  log_contains?: LogLine[];
  /**
   * false: no oops; otherwise the oops that ended a step.
   */
  oops?:
    | false
    | {
        /**
         * The oops line, exactly, or {match: regex}.
         */
        message?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        /**
         * The function it happened in, exactly, or {match: regex}.
         */
        function?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        step?: string;
      };
  /**
   * Mapped ranges per domain ID; adjacent leaves of one mapping shown as one range. A domain named must exist at the end; `absent` states that it does not.
   */
  mappings?: {
    /**
     * Expected a list of ranges, or `absent` for a domain that must not exist.
     */
    [k: string]: 'absent' | (Range | string)[];
  };
  /**
   * Every page that is not WB at the end: ranges `{pa, size, type}` (or their one-line form), compared as the end state merges them; or, with any `{alloc: glob, count, type}` item, the set of such pages, so separate allocations need not be merged.
   */
  memtypes?: (
    | {
        pa: Value;
        size: Address;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | {
        /**
         * A glob over allocation sites: every page of each matching allocation has `type`.
         */
        alloc: string;
        /**
         * How many allocations the glob matches; default 1.
         */
        count?: number;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | string
  )[];
  /**
   * Commands each IOMMU executed, keyed by IOMMU index: a list (executed, in order), or `{executed, queued, ring}`: `queued` lists commands written to the ring but not executed (head to tail), `ring` the head and tail byte offsets and the count of pending commands. Each command is its decoded line, `{match: regex}` over the decoded line, or `{data: [w0, w1, w2, w3]}` raw words.
   */
  commands?: {
    [k: string]:
      | CommandMatcher[]
      | {
          executed?: CommandMatcher[];
          queued?: CommandMatcher[];
          ring?: {
            head?: Address;
            tail?: Address;
            pending?: number;
          };
        };
  };
  /**
   * Host invalidations each IOMMU executed that a later executed completion wait covered, merged per domain ("domain=2 [0x0, +0x800000)", "[all]"), then the device-table entries ("devid=0x10"), keyed by IOMMU index.
   */
  flushed?: {
    [k: string]: string[];
  };
  /**
   * Host invalidations and device-table entries each IOMMU executed that no executed completion wait followed, merged the same way.
   */
  not_flushed?: {
    [k: string]: string[];
  };
  iotlb?: {
    [k: string]: string[];
  };
  /**
   * Allocations made by the steps and still live at the end: each an exact site, or `{site: glob, order, count}`; every live allocation must be matched, in any order.
   */
  leaks?: AllocMatcher[];
  /**
   * Allocations freed during the steps: exact sites in free order, or `{site: glob, order, count}` (then in any order); every freed allocation must be matched.
   */
  freed?: AllocMatcher[];
  /**
   * Kernel and hardware events: WARN, bad frees, pages freed while not WB, IO page faults, stale IOTLB hits.
   */
  events?: string[];
  /**
   * Every invariant violation of the end state, as a sweep row lists them (`name: message`); [] for none.
   */
  invariants?: string[];
  /**
   * site#call of every injected failure.
   */
  faults_fired?: string[];
  /**
   * Domain IDs allocated at the end.
   */
  domain_ids?: number[];
  /**
   * The top of each paging domain by ID: `level` (the generic_pt level of the top table, 0 = the table of 4 KiB entries), `mode` (what the DTE is told: AMD mode = level + 1) and `top` (the top table's physical address, a value expression such as "table(3, L2, 0x0)"); only what is stated is compared. `absent` states that the domain does not exist.
   */
  domains?: {
    /**
     * A domain's top as {level: 0..5, mode: 1..6, top: value}, or `absent`.
     */
    [k: string]:
      | 'absent'
      | {
          level?: number;
          mode?: number;
          top?: Value;
        };
  };
  /**
   * Raw page-table entries: the entry the walk of `iova` ends on; with `level`, the entry that walk reads at that level; with `level` and `index`, that entry of the level's table on the walk of `iova` (default 0); or with `table: {level, iova}`, a whole table whose entries are 0 but those listed in `nonzero` (by index). Levels are generic_pt levels: 0 is the table of 4 KiB entries (AMD level 1).
   */
  ptes?: {
    domain: number;
    iova?: Address;
    level?: number;
    index?: number;
    value?: Value;
    table?: {
      level: number;
      iova?: Address;
    };
    nonzero?: {
      [k: string]: Value;
    };
  }[];
  dtes?: {
    iommu?: number;
    devid: number;
    /**
     * @minItems 2
     * @maxItems 4
     */
    data: [Value, Value] | [Value, Value, Value] | [Value, Value, Value, Value];
  }[];
  /**
   * Driver structs by key: `iommu<index>` (struct amd_iommu) or `viommu<object ID>` (struct amd_iommu_viommu), each `absent` or its fields: a value expression (`domain(2)`, `va(alloc(...))`), null for NULL, or a list of those for an array field.
   */
  driver?: {
    [k: string]:
      | 'absent'
      | {
          [k: string]: (null | Value) | (null | Value)[];
        };
  };
  /**
   * vIOMMU guests by IOMMU and guest ID, each `absent: true` (nothing of it remains) or the fields to compare: `allocated` (gid_ida), `trans_devid` (of the live vIOMMU holding the gid; null: none), `devid_table`/`domid_table` (the address the table's IPA translates to through the private space; null: unmapped), `vf_cntl` and `vf` (the non-zero registers by name, exactly), `devid_map`/`domid_map` (the tables' non-default entries, exactly) and `queues` (the queues VF_CNTL sets up, exactly, by type, with the fields stated).
   */
  guests?: {
    iommu?: number;
    gid: number;
    absent?: true;
    allocated?: boolean;
    trans_devid?: null | Value;
    devid_table?: null | Value;
    domid_table?: null | Value;
    vf_cntl?: {
      [k: string]: Value;
    };
    vf?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    devid_map?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    domid_map?: {
      [k: string]: Value;
    };
    queues?: {
      [k: string]: {
        base?: Value;
        length?: number;
        flags?: string[];
        head?: Value;
        tail?: Value;
        halted?: boolean;
      };
    };
  }[];
}
/**
 * Replaces the spec's sweep.
 */
export interface Sweep {
  /**
   * Which failure points: all (default), a site glob, or a list of globs.
   */
  sites?: string | [string, ...string[]];
  /**
   * Only failure points passed during this named step or later.
   */
  from?: string;
  /**
   * Stop after this many runs (default 10000); an unfinished sweep fails.
   */
  max_runs?: number;
  /**
   * Invariants switched off, each with the reason.
   */
  disable?: {
    [k: string]: string;
  };
  /**
   * Opt-in errno discipline: a step may return the injected errno or one of these translations (INJECTED->RETURNED).
   */
  errno_translations?: string[];
  /**
   * What particular runs must show; `point` is a glob over `site#call` (`(none)` is the fault-free baseline).
   */
  expect?: {
    point: string;
    steps?: string[];
    oops?: boolean;
    violations?: string[];
    expect?: Expect3;
  }[];
  /**
   * Opt-in columns the golden table records per run: the commands each IOMMU executed, the memory-type summary, the allocations still live.
   */
  columns?: ('commands' | 'memtypes' | 'live')[];
}
/**
 * Only what is stated is compared.
 */
export interface Expect3 {
  /**
   * The whole kernel log, in order (debug lines included).
   */
  log?: LogLine[];
  /**
   * The kernel log less pr_debug lines, in order.
   */
  log_without_debug?: LogLine[];
  /**
   * Lines that appear in this order, others between allowed.
   */
  log_contains?: LogLine[];
  /**
   * false: no oops; otherwise the oops that ended a step.
   */
  oops?:
    | false
    | {
        /**
         * The oops line, exactly, or {match: regex}.
         */
        message?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        /**
         * The function it happened in, exactly, or {match: regex}.
         */
        function?:
          | string
          | {
              /**
               * A regular expression the text must match.
               */
              match: string;
            };
        step?: string;
      };
  /**
   * Mapped ranges per domain ID; adjacent leaves of one mapping shown as one range. A domain named must exist at the end; `absent` states that it does not.
   */
  mappings?: {
    /**
     * Expected a list of ranges, or `absent` for a domain that must not exist.
     */
    [k: string]: 'absent' | (Range | string)[];
  };
  /**
   * Every page that is not WB at the end: ranges `{pa, size, type}` (or their one-line form), compared as the end state merges them; or, with any `{alloc: glob, count, type}` item, the set of such pages, so separate allocations need not be merged.
   */
  memtypes?: (
    | {
        pa: Value;
        size: Address;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | {
        /**
         * A glob over allocation sites: every page of each matching allocation has `type`.
         */
        alloc: string;
        /**
         * How many allocations the glob matches; default 1.
         */
        count?: number;
        type: 'WC' | 'UC_MINUS' | 'UC' | 'WT' | 'WP';
      }
    | string
  )[];
  /**
   * Commands each IOMMU executed, keyed by IOMMU index: a list (executed, in order), or `{executed, queued, ring}`: `queued` lists commands written to the ring but not executed (head to tail), `ring` the head and tail byte offsets and the count of pending commands. Each command is its decoded line, `{match: regex}` over the decoded line, or `{data: [w0, w1, w2, w3]}` raw words.
   */
  commands?: {
    [k: string]:
      | CommandMatcher[]
      | {
          executed?: CommandMatcher[];
          queued?: CommandMatcher[];
          ring?: {
            head?: Address;
            tail?: Address;
            pending?: number;
          };
        };
  };
  /**
   * Host invalidations each IOMMU executed that a later executed completion wait covered, merged per domain ("domain=2 [0x0, +0x800000)", "[all]"), then the device-table entries ("devid=0x10"), keyed by IOMMU index.
   */
  flushed?: {
    [k: string]: string[];
  };
  /**
   * Host invalidations and device-table entries each IOMMU executed that no executed completion wait followed, merged the same way.
   */
  not_flushed?: {
    [k: string]: string[];
  };
  iotlb?: {
    [k: string]: string[];
  };
  /**
   * Allocations made by the steps and still live at the end: each an exact site, or `{site: glob, order, count}`; every live allocation must be matched, in any order.
   */
  leaks?: AllocMatcher[];
  /**
   * Allocations freed during the steps: exact sites in free order, or `{site: glob, order, count}` (then in any order); every freed allocation must be matched.
   */
  freed?: AllocMatcher[];
  /**
   * Kernel and hardware events: WARN, bad frees, pages freed while not WB, IO page faults, stale IOTLB hits.
   */
  events?: string[];
  /**
   * Every invariant violation of the end state, as a sweep row lists them (`name: message`); [] for none.
   */
  invariants?: string[];
  /**
   * site#call of every injected failure.
   */
  faults_fired?: string[];
  /**
   * Domain IDs allocated at the end.
   */
  domain_ids?: number[];
  /**
   * The top of each paging domain by ID: `level` (the generic_pt level of the top table, 0 = the table of 4 KiB entries), `mode` (what the DTE is told: AMD mode = level + 1) and `top` (the top table's physical address, a value expression such as "table(3, L2, 0x0)"); only what is stated is compared. `absent` states that the domain does not exist.
   */
  domains?: {
    /**
     * A domain's top as {level: 0..5, mode: 1..6, top: value}, or `absent`.
     */
    [k: string]:
      | 'absent'
      | {
          level?: number;
          mode?: number;
          top?: Value;
        };
  };
  /**
   * Raw page-table entries: the entry the walk of `iova` ends on; with `level`, the entry that walk reads at that level; with `level` and `index`, that entry of the level's table on the walk of `iova` (default 0); or with `table: {level, iova}`, a whole table whose entries are 0 but those listed in `nonzero` (by index). Levels are generic_pt levels: 0 is the table of 4 KiB entries (AMD level 1).
   */
  ptes?: {
    domain: number;
    iova?: Address;
    level?: number;
    index?: number;
    value?: Value;
    table?: {
      level: number;
      iova?: Address;
    };
    nonzero?: {
      [k: string]: Value;
    };
  }[];
  dtes?: {
    iommu?: number;
    devid: number;
    /**
     * @minItems 2
     * @maxItems 4
     */
    data: [Value, Value] | [Value, Value, Value] | [Value, Value, Value, Value];
  }[];
  /**
   * Driver structs by key: `iommu<index>` (struct amd_iommu) or `viommu<object ID>` (struct amd_iommu_viommu), each `absent` or its fields: a value expression (`domain(2)`, `va(alloc(...))`), null for NULL, or a list of those for an array field.
   */
  driver?: {
    [k: string]:
      | 'absent'
      | {
          [k: string]: (null | Value) | (null | Value)[];
        };
  };
  /**
   * vIOMMU guests by IOMMU and guest ID, each `absent: true` (nothing of it remains) or the fields to compare: `allocated` (gid_ida), `trans_devid` (of the live vIOMMU holding the gid; null: none), `devid_table`/`domid_table` (the address the table's IPA translates to through the private space; null: unmapped), `vf_cntl` and `vf` (the non-zero registers by name, exactly), `devid_map`/`domid_map` (the tables' non-default entries, exactly) and `queues` (the queues VF_CNTL sets up, exactly, by type, with the fields stated).
   */
  guests?: {
    iommu?: number;
    gid: number;
    absent?: true;
    allocated?: boolean;
    trans_devid?: null | Value;
    devid_table?: null | Value;
    domid_table?: null | Value;
    vf_cntl?: {
      [k: string]: Value;
    };
    vf?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    devid_map?: {
      [k: string]: Value;
    };
    /**
     * Guest ID (a number, 0x hex) to host ID: exactly the entries that differ from what viommu_clear_mapping leaves (DevID: host 0, valid; DomID: the nest parent's ID, valid) and from zero.
     */
    domid_map?: {
      [k: string]: Value;
    };
    queues?: {
      [k: string]: {
        base?: Value;
        length?: number;
        flags?: string[];
        head?: Value;
        tail?: Value;
        halted?: boolean;
      };
    };
  }[];
}
/**
 * Instead of `faults`: run once per failure point of the scenario, failing exactly that one, and check the end-state invariants after each run.
 */
export interface Sweep1 {
  /**
   * Which failure points: all (default), a site glob, or a list of globs.
   */
  sites?: string | [string, ...string[]];
  /**
   * Only failure points passed during this named step or later.
   */
  from?: string;
  /**
   * Stop after this many runs (default 10000); an unfinished sweep fails.
   */
  max_runs?: number;
  /**
   * Invariants switched off, each with the reason.
   */
  disable?: {
    [k: string]: string;
  };
  /**
   * Opt-in errno discipline: a step may return the injected errno or one of these translations (INJECTED->RETURNED).
   */
  errno_translations?: string[];
  /**
   * What particular runs must show; `point` is a glob over `site#call` (`(none)` is the fault-free baseline).
   */
  expect?: {
    point: string;
    steps?: string[];
    oops?: boolean;
    violations?: string[];
    expect?: Expect3;
  }[];
  /**
   * Opt-in columns the golden table records per run: the commands each IOMMU executed, the memory-type summary, the allocations still live.
   */
  columns?: ('commands' | 'memtypes' | 'live')[];
}

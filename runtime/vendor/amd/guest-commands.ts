import { CMD_COMPL_WAIT } from '../../hw/commands.js';
import { build_inv_all, build_inv_dte, build_inv_iommu_pages, build_inv_iotlb_pages } from '../../linux/amd/cmd.js';

/**
 * The commands a spec's guest writes into its vIOMMU command buffer, in decoded form. A Linux guest builds
 * them with the same functions as the host (drivers/iommu/amd/iommu.c build_*), so they are encoded by the
 * ported builders; the IDs are the guest's own (gDomID, gDevID), the completion-wait store a GPA.
 */
export type GuestCommandForm =
  | {
      readonly op: 'invalidate_iommu_pages';
      readonly domid: number;
      readonly address: bigint;
      readonly size: bigint;
      readonly pasid: number;
      readonly gn: boolean;
    }
  | { readonly op: 'invalidate_devtab_entry'; readonly devid: number }
  | {
      readonly op: 'invalidate_iotlb_pages';
      readonly devid: number;
      readonly address: bigint;
      readonly size: bigint;
      readonly qdep: number;
      readonly pasid: number;
      readonly gn: boolean;
    }
  | {
      readonly op: 'completion_wait';
      readonly store: bigint | null;
      readonly data: bigint;
      readonly interrupt: boolean;
    }
  | { readonly op: 'invalidate_iommu_all' }
  /** Any four words, as written (an illegal command, a host-only one, a reserved bit set). */
  | { readonly op: 'raw'; readonly words: readonly [number, number, number, number] };

export type CommandWords = [number, number, number, number];

/** CMD_COMPL_WAIT_STORE_MASK and CMD_COMPL_WAIT_INT_MASK (amd_iommu_types.h): word 0 bits 0 and 1. */
const COMPL_WAIT_STORE = 0x1;
const COMPL_WAIT_INT = 0x2;

export function encodeGuestCommand(c: GuestCommandForm): CommandWords {
  switch (c.op) {
    case 'invalidate_iommu_pages':
      return build_inv_iommu_pages(c.address, c.size, c.domid, c.pasid, c.gn);
    case 'invalidate_devtab_entry':
      return build_inv_dte(c.devid);
    case 'invalidate_iotlb_pages':
      return build_inv_iotlb_pages(c.devid, c.qdep, c.address, c.size, c.pasid, c.gn);
    case 'invalidate_iommu_all':
      return build_inv_all();
    case 'raw':
      return [...c.words];
    case 'completion_wait': {
      // build_completion_wait with the guest's semaphore GPA (and, as build_completion_wait does not, the
      // interrupt bit of a guest that waits by interrupt).
      const store = c.store ?? 0n;
      const w0 =
        Number(store & 0xffff_fff8n) | (c.store === null ? 0 : COMPL_WAIT_STORE) | (c.interrupt ? COMPL_WAIT_INT : 0);
      const w1 = Number((store >> 32n) & 0xf_ffffn) | (CMD_COMPL_WAIT << 28);
      return [w0 >>> 0, w1 >>> 0, Number(c.data & 0xffff_ffffn), Number((c.data >> 32n) & 0xffff_ffffn)];
    }
  }
}

import { describe, expect, it, vi } from 'vitest';
import { main } from '../../app/cli.js';
import { registerDriverVariant } from '../../runtime/linux/amd/variants/index.js';
import { ViommuPatchV3 } from '../../runtime/linux/amd/viommu.js';
import type { AmdIommu } from '../../runtime/linux/amd/amd-iommu.js';

/** Returns a page to the buddy allocator behind the ledger's back: the model no longer agrees with itself. */
class CorruptsAllocator extends ViommuPatchV3 {
  override amd_viommu_init(iommu: AmdIommu): number {
    const ret = super.amd_viommu_init(iommu);
    const block = this.d.k.ledger.liveAllocations().at(-1)!;
    this.d.k.buddyOf(block.node)!.release(Number(block.pa >> 12n), block.order);
    return ret;
  }
}

describe('model self-checks', () => {
  it('report a broken model invariant as a bug in viommu-spec, with exit code 3', async () => {
    registerDriverVariant('test-corrupts-allocator', {
      description: 'corrupts the model on purpose',
      create: (d) => new CorruptsAllocator(d),
    });
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    try {
      expect(
        await main(['node', 'viommu-spec', 'run', 'test/check/fixtures/corrupting-variant.yaml', '--jobs', '1']),
      ).toBe(3);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    expect(err).toMatch(
      /^viommu-spec: internal error: the model broke its own invariant: node 0: \d+ free \+ \d+ live pages != 262144 \(a bug in viommu-spec, not in the driver under test; please report it with the spec and the command line\)\n$/,
    );
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';

/**
 * The HTML report in a real browser: Debian's chromium, driven by playwright-core, opens a report of a
 * failing fixture, a spec whose completion waits time out, and a sweep; checks the strip, the tree, the
 * timeline and the sweep filter, and takes a screenshot. .ci/run installs chromium, so in CI this runs;
 * on a machine without /usr/bin/chromium it is skipped, and says so in its name.
 */
const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
// In CI a missing browser is a broken setup, not a reason to skip.
const skip = !present && !process.env['CI'];
const title = skip
  ? `HTML report in Chromium (SKIPPED: ${CHROMIUM} is not installed; apt-get install chromium, as .ci/run does)`
  : 'HTML report in Chromium';

const SPECS = [
  'test/report/fixtures/failing-map.yaml',
  'specs/viommu/completion-wait-timeout.yaml',
  'specs/sweeps/viommu-init-teardown.yaml',
];

describe.skipIf(skip)(title, () => {
  let dir: string;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is missing in CI: .ci/run installs it (apt-get install chromium)`);
    dir = mkdtempSync(join(tmpdir(), 'viommu-html-'));
    const report = join(dir, 'report.html');
    const r = spawnSync(
      process.execPath,
      [resolve('dist/bin/viommu-spec.cjs'), 'run', ...SPECS, '--reporter', `html=${report}`],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(1); // the fixture fails on purpose
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1360, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await context.newPage();
    page.on('request', (q) => {
      if (!q.url().startsWith('file:')) requests.push(q.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${report}`);
    await page.waitForSelector('body[data-ready="1"]');
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const failing = (): ReturnType<Page['locator']> => page.locator('section.spec[data-status="failed"]');

  it('loads with no script error and no request beyond the file', async () => {
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    // The fixture, the timeout spec, and the sweep's two cases.
    await expect(page.locator('section.spec').count()).resolves.toBe(4);
  });

  it('shows the failing spec with its diff beside the IOVA strip', async () => {
    await expect(failing().count()).resolves.toBe(1);
    const diff = await failing().locator('.cols .diff').innerText();
    expect(diff).toContain('x mappings of domain 2 differ');
    expect(diff).toContain('+iova=0x10010000 size=0x4000 pa=0x80010000 page=0x4000 r');
    // Five ranges (2M, 8K, 4K, 16K, 4M pages), each a coloured block in the strip, and holes between them.
    const strip = failing().locator('.iova .strip');
    await expect(strip.locator('.r').count()).resolves.toBe(5);
    const view = failing().locator('.iova .view');
    const before = await view.innerText();
    await failing().locator('.iova .zin').click();
    const zoomed = await view.innerText();
    expect(zoomed).not.toBe(before);
    await failing().locator('.iova .zall').click();
    expect(await view.innerText()).toBe('[0x0, 0x8000000000)');
  });

  it('expands the page-table tree level by level, showing raw entries with decoded bits', async () => {
    const tables = failing().locator('details.tables');
    await tables.locator('summary').first().click();
    const leafTable = tables.locator('details.pde[data-level="0"]').first();
    expect(await leafTable.getAttribute('open')).toBeNull();
    await leafTable.locator('summary').first().click();
    expect(await leafTable.getAttribute('open')).toBe('');
    const rows = await leafTable.locator('.table[data-level="0"] .pte').allInnerTexts();
    expect(rows.join('\n')).toContain('0x3000000080011e01 PR NL=7 OA=0x80011000 pa=0x80010000 size=0x4000 FC IR');
  });

  it('draws the command timeline with completion waits and the timeouts the driver logged', async () => {
    const timeline = page.locator('section.spec[data-id="specs/viommu/completion-wait-timeout.yaml"] .timeline');
    await expect(timeline.locator('.tl .chip.timeout').count()).resolves.toBe(4);
    await expect(timeline.locator('.tl .chip.executed').count()).resolves.toBeGreaterThan(0);
    const waits = await failing().locator('.timeline .tl .chip.wait').allInnerTexts();
    expect(waits).toEqual(['COMPLETION_WAIT store=0x204000 data=0x1', 'COMPLETION_WAIT store=0x204000 data=0x2']);
  });

  it("filters a sweep's rows by text and by outcome", async () => {
    const sweep = page.locator('section.spec[data-id="specs/sweeps/viommu-init-teardown.yaml#v3"] .sweep');
    const rows = sweep.locator('tbody tr');
    const total = await rows.count();
    expect(total).toBeGreaterThan(2);
    await sweep.locator('.row-filter').fill('(none)');
    await expect(sweep.locator('tbody tr:not(.hidden)').count()).resolves.toBe(1);
    expect(await sweep.locator('.shown').innerText()).toBe('1');
    await sweep.locator('.row-filter').fill('');
    const okRows = await sweep.locator('tbody tr[data-outcome="ok"]').count();
    await sweep.locator('.outcome-filter').selectOption('ok');
    await expect(sweep.locator('tbody tr:not(.hidden)').count()).resolves.toBe(okRows);
    expect(okRows).toBeLessThan(total);
  });

  it('takes a screenshot of the failing spec', async () => {
    const shot = join(dir, 'report.png');
    await failing().scrollIntoViewIfNeeded();
    await page.screenshot({ path: shot });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
  });
});

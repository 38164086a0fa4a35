/**
 * Swagger UI in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against the service listening on a port-0 loopback socket and syncing against the
 * embedded simulator. Skipped locally when /usr/bin/chromium is missing; in CI (CI=true)
 * a missing Chromium fails the test, since .ci/run installs it.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { TOKENS } from '../helpers/build-test-app.js';
import { buildSimulatorApp } from '../helpers/simulator-app.js';

const CHROMIUM = '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const WAIT_MS = 10_000;

describe('Swagger UI at /docs', () => {
  it('when a user authorizes and tries the sync operation with dryRun, then the page shows a live 200 dry_run answer', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      if (IN_CI) throw new Error(`${CHROMIUM} is missing: CI must run the browser test (.ci/run installs chromium with apt-get)`);
      ctx.skip(`${CHROMIUM} is missing; install it with \`apt-get install chromium\` to run the browser test`);
    }

    const s = await buildSimulatorApp();
    const url = await s.app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    onTestFinished(() => browser.close());
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT_MS);

    try {
      await page.goto(`${url}/docs`);
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'cxone-scim-sync' }).waitFor();
      const operation = page.locator('#operations-sync-syncGroup');
      await operation.locator('.opblock-summary-path').filter({ hasText: '/groups/{groupId}/sync' }).waitFor();

      await authorize(page, TOKENS.okta);

      await operation.locator('.opblock-summary-control').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('tr[data-param-name="groupId"] input').fill(seedIds.groups.contactCenterAgents);
      await operation.locator('tr[data-param-name="dryRun"] select').selectOption('true');
      await operation.locator('textarea.body-param__text').fill(JSON.stringify({ members: [{ value: seedIds.users.aliceSmith, type: 'User' }] }, null, 2));
      await operation.locator('button.execute').click();

      const live = operation.locator('.live-responses-table');
      await live.locator('.response-col_status').filter({ hasText: '200' }).waitFor();
      const body = await live.locator('.response-col_description .microlight').first().textContent();
      expect(JSON.parse(body ?? '{}')).toMatchObject({ status: 'dry_run', groupId: seedIds.groups.contactCenterAgents, added: [{ value: seedIds.users.aliceSmith, type: 'User' }] });
      expect(s.simulator.stats.byRoute['PUT Groups']).toBeUndefined();
    } catch (error) {
      const shot = join(tmpdir(), `docs-browser-failure-${process.pid}.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n(screenshot of the page: ${shot})`, { cause: error });
    }
  });
});

/** Swagger UI's "Authorize" dialog for the bearerAuth scheme. */
async function authorize(page: Page, token: string): Promise<void> {
  await page.locator('.scheme-container button.authorize').click();
  const dialog = page.locator('.modal-ux');
  await dialog.locator('input[type="text"], input[type="password"]').first().fill(token);
  await dialog.locator('button.modal-btn.auth.authorize').click();
  await dialog.locator('button.modal-btn.auth.btn-done').click();
  await dialog.waitFor({ state: 'detached' });
}

import { Browser, expect, Page, test, TestInfo } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isHydrated } from './helpers';

// A rollback changes what is live, so the end-to-end rollback runs against its own demo
// server (own simulators, own store); the shared server only serves the read-only checks.
const REPO = path.join(__dirname, '..', '..');
const ROLLBACK_PORT = Number(process.env.LOOKOUT_E2E_ROLLBACK_PORT ?? Number(process.env.LOOKOUT_E2E_PORT ?? 3199) - 3);

async function signIn(page: Page, user: string, password: string) {
  await page.goto('/login');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

function apiRow(page: Page, environment: string) {
  return page.locator(`section.env-card[data-environment="${environment}"] li.svc-row[data-service="api"]`);
}

async function waitHydrated(page: Page, testInfo: TestInfo) {
  await expect(page.locator('main#main')).toHaveAttribute('data-hydrated', String(isHydrated(testInfo)));
}

test('a viewer sees no rollback action; a deployer sees one per row', async ({ page }, testInfo) => {
  await signIn(page, 'viewer', 'viewer-demo');
  await page.goto('/');
  await waitHydrated(page, testInfo);
  await expect(apiRow(page, 'production')).toBeVisible();
  await expect(page.locator('a.rollback-button')).toHaveCount(0);
  await page.goto('/history');
  await expect(page.locator('li.history-row').first()).toBeVisible();
  await expect(page.getByRole('link', { name: 'Roll back to this' })).toHaveCount(0);

  await page.context().clearCookies();
  await signIn(page, 'deployer', 'deployer-demo');
  await page.goto('/');
  await waitHydrated(page, testInfo);
  await expect(apiRow(page, 'production').getByRole('link', { name: /Roll back to previous/ })).toBeVisible();
  await page.goto('/history?service=api');
  // Every row says whether it can be a target, and why not.
  await expect(page.getByRole('link', { name: 'Roll back to this' }).first()).toBeVisible();
  await expect(page.locator('.history-links .live-now').first()).toBeVisible();
});

async function startServer(dataDir: string): Promise<ChildProcess> {
  const server = spawn(path.join(REPO, 'target', 'debug', 'lookout'), ['serve'], {
    cwd: REPO,
    env: {
      ...process.env,
      PORT: String(ROLLBACK_PORT),
      LOOKOUT_DEMO_SIMULATOR_PORT: '0',
      LOOKOUT_DATA_DIR: dataDir,
      LOOKOUT_DEMO_POLL_SECS: '1',
      RUST_LOG: 'warn',
    },
    stdio: 'ignore',
  });
  for (let attempt = 0; attempt < 120; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${ROLLBACK_PORT}/readyz`);
      if (response.ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  server.kill('SIGKILL');
  throw new Error('the rollback server did not start');
}

async function newPage(browser: Browser, testInfo: TestInfo) {
  const context = await browser.newContext({
    baseURL: `http://127.0.0.1:${ROLLBACK_PORT}`,
    javaScriptEnabled: isHydrated(testInfo),
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

test('a deployer rolls back api in production: confirmation, typed name, progress, verified result, audit', async ({ browser }, testInfo) => {
  test.setTimeout(90_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-rollback-'));
  const server = await startServer(dataDir);
  try {
    const { context, page, errors } = await newPage(browser, testInfo);
    await signIn(page, 'deployer', 'deployer-demo');
    await page.goto('/');
    await waitHydrated(page, testInfo);
    const row = apiRow(page, 'production');
    const button = row.getByRole('link', { name: /Roll back to previous/ });
    await expect(button).toBeVisible();
    const liveBefore = (await row.locator('.svc-version code.sha').textContent())?.trim();
    await button.click();

    // The confirmation page names what will happen.
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Roll back api in production?');
    await waitHydrated(page, testInfo);
    const plan = page.locator('dl.rollback-plan');
    await expect(plan).toContainText('Live now');
    await expect(plan).toContainText(liveBefore ?? '');
    await expect(page.getByText('Render starts a new deploy')).toBeVisible();
    await expect(page.getByLabel(/Pause auto-deploy/)).toBeChecked();
    await page.getByLabel('Why (kept in the audit log)').fill('checkout errors after the last deploy');
    const submit = page.getByRole('button', { name: /^Roll back api to / });
    // Production asks for the service name: a wrong one is not accepted.
    await page.getByLabel('Type api to confirm this production rollback').fill('apx');
    await submit.click();
    await expect(page).toHaveURL(/\/rollback\?/);
    await page.getByLabel('Type api to confirm this production rollback').fill('api');
    await submit.click();

    // Progress, then the verified result.
    await expect(page).toHaveURL(/\/rollbacks\/\d+$/, { timeout: 15_000 });
    const state = page.locator('p.rollback-state');
    // Hydrated, the page follows the rollback's live stream; without JavaScript it refreshes
    // itself every 2 s while the rollback runs. Either way nobody reloads it here.
    await expect(state).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
    await expect(state).toContainText('Rolled back, verified');
    await expect(page.locator('section.hold-box')).toContainText('Auto-deploy paused');

    // The status page says what happened and who did it.
    await page.goto('/');
    await expect(apiRow(page, 'production').locator('.rollback-note')).toContainText('Rolled back to', { timeout: 15_000 });
    await expect(apiRow(page, 'production').locator('.rollback-note')).toContainText('by deployer');
    await expect(apiRow(page, 'production').locator('.rollback-note')).toContainText('auto-deploy paused');

    // The admin's audit log has the pending row and the outcome.
    await page.locator('header.topbar').getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'admin', 'admin-demo');
    await page.goto('/audit?action=rollback');
    const rows = page.locator('table.audit tbody tr');
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0)).toContainText('succeeded');
    await expect(rows.nth(1)).toContainText('pending');
    await expect(rows.nth(1)).toContainText('checkout errors after the last deploy');
    expect(errors, 'errors thrown in the page').toEqual([]);
    await context.close();
  } finally {
    server.kill('SIGTERM');
  }
});

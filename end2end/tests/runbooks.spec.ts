import { expect, test } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expectNoPageErrors, isHydrated, open } from './helpers';

const DEMO_RUNBOOKS = [
  'API down or degraded',
  'Database issues',
  'Disaster recovery',
  'Deployment failed',
  'Rolling back on each provider',
];

test('the runbook list shows the demo runbooks and searches them', async ({ page }, testInfo) => {
  const errors = await open(page, testInfo, '/runbooks');
  await expect(page.getByRole('heading', { name: 'Runbooks', level: 1 })).toBeVisible();
  const titles = page.locator('a.runbook-title');
  for (const title of DEMO_RUNBOOKS) {
    await expect(titles.filter({ hasText: title })).toHaveCount(1);
  }
  await expect(page.getByRole('status').filter({ hasText: 'runbooks' })).toContainText('5 runbooks');
  // An old review is flagged in words.
  await expect(page.locator('li.runbook-item[data-slug="disaster-recovery"]')).toContainText('Review overdue');

  // Full-text search: "heroku" appears only in the rollback runbook's text.
  const search = page.getByRole('searchbox', { name: 'Search' });
  if (isHydrated(testInfo)) {
    // Hydrated: the list follows the typing, no submit needed.
    await search.pressSequentially('heroku');
  } else {
    await search.fill('heroku');
    await page.getByRole('button', { name: 'Search' }).click();
  }
  await expect(page).toHaveURL(/\/runbooks\?q=heroku(&service=&tag=)?$/);
  await expect(titles).toHaveCount(1);
  await expect(titles.first()).toHaveText('Rolling back on each provider');
  await expect(page.locator('.snippet').first()).toContainText(/heroku/i);

  // Filter by service (a server-rendered link works the same with or without JS).
  await page.goto('/runbooks?service=db');
  await expect(titles).toHaveCount(2);
  await expect(titles.filter({ hasText: 'Database issues' })).toHaveCount(1);
  expectNoPageErrors(errors);
});

test('a degraded service row opens its runbook, with contents and anchors', async ({ page }, testInfo) => {
  const errors = await open(page, testInfo, '/');
  const production = page.locator('section.env-card[data-environment="production"]');
  const api = production.locator('li.svc-row[data-service="api"]');
  await expect(api).toContainText('degraded');
  const runbooks = api.getByRole('navigation', { name: 'Runbooks for api' });
  await expect(runbooks).toBeVisible();
  // First among the row's runbooks: the most severe.
  await expect(runbooks.getByRole('link').first()).toHaveText('API down or degraded');
  // A healthy row keeps a single quiet link.
  await expect(production.locator('li.svc-row[data-service="web"] a.runbook-quiet')).toHaveText('3 runbooks');

  await runbooks.getByRole('link', { name: 'API down or degraded' }).click();
  await expect(page).toHaveURL(/\/runbooks\/api-down$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('API down or degraded');
  await expect(page.locator('.runbook-header')).toContainText('critical');
  const contents = page.getByRole('navigation', { name: 'Contents' });
  await contents.getByRole('link', { name: 'Slow responses' }).click();
  await expect(page).toHaveURL(/#rb-slow-responses$/);
  await expect(page.locator('#rb-slow-responses')).toBeInViewport();
  // Relative links between runbooks work.
  await page.locator('.runbook-body a[href="/runbooks/rollback#rb-render"]').first().click();
  await expect(page).toHaveURL(/\/runbooks\/rollback#rb-render$/);
  await expect(page.getByRole('heading', { name: 'Rolling back on each provider' })).toBeVisible();
  expectNoPageErrors(errors);
});

test('an image from the runbooks folder is shown', async ({ page }, testInfo) => {
  await open(page, testInfo, '/runbooks/disaster-recovery');
  const image = page.locator('.runbook-body img');
  await expect(image).toHaveAttribute('src', '/runbooks/assets/images/recovery-order.svg');
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
});

test('code blocks can be copied (hydrated) and stay selectable without JavaScript', async ({ page, context }, testInfo) => {
  await open(page, testInfo, '/runbooks/api-down');
  const block = page.locator('.runbook-body pre').first();
  await expect(block.locator('code.language-bash')).toContainText('curl -sS');
  if (!isHydrated(testInfo)) {
    await expect(page.locator('.copy-button')).toHaveCount(0);
    const selected = await block.evaluate((pre) => {
      const range = document.createRange();
      range.selectNodeContents(pre);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      return selection?.toString() ?? '';
    }).catch(() => null);
    // JavaScript is off in this project, so evaluate may be refused; the CSS must not block selection.
    if (selected !== null) expect(selected).toContain('curl -sS');
    await expect(block).toHaveCSS('user-select', 'text');
    return;
  }
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const button = page.locator('.code-block').first().getByRole('button', { name: 'Copy this code' });
  await button.click();
  await expect(button).toHaveText('Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toContain('curl -sS -w');
  expect(copied).toContain('https://api.shop.example.com/healthz');
});

const REPO = path.join(__dirname, '..', '..');
const OFFLINE_PORT = Number(process.env.LOOKOUT_E2E_OFFLINE_PORT ?? Number(process.env.LOOKOUT_E2E_PORT ?? 3199) - 2);

async function startServer(dataDir: string): Promise<ChildProcess> {
  const server = spawn(path.join(REPO, 'target', 'debug', 'lookout'), ['serve'], {
    cwd: REPO,
    env: {
      ...process.env,
      PORT: String(OFFLINE_PORT),
      LOOKOUT_DEMO_SIMULATOR_PORT: '0',
      LOOKOUT_DATA_DIR: dataDir,
      LOOKOUT_DEMO_POLL_SECS: '1',
      RUST_LOG: 'warn',
    },
    stdio: 'ignore',
  });
  for (let attempt = 0; attempt < 120; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${OFFLINE_PORT}/readyz`);
      if (response.ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  server.kill('SIGKILL');
  throw new Error('the extra server did not start');
}

async function stopServer(server: ChildProcess) {
  if (server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
}

test('runbooks and the last status page open from the browser cache when the server is down', async ({ browser }, testInfo) => {
  test.skip(!isHydrated(testInfo), 'the service worker is registered by script');
  test.setTimeout(90_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-offline-'));
  const server = await startServer(dataDir);
  const context = await browser.newContext({ baseURL: `http://127.0.0.1:${OFFLINE_PORT}` });
  try {
    const page = await context.newPage();
    await page.goto('/');
    // Wait until the service worker controls the page.
    await page.waitForFunction(() => navigator.serviceWorker?.controller !== null, null, { timeout: 15_000 });
    await page.goto('/');
    await expect(page.locator('section.env-card[data-environment="production"]')).toBeVisible();
    await page.goto('/runbooks');
    await expect(page.locator('a.runbook-title')).toHaveCount(5);
    await page.goto('/runbooks/api-down');
    await expect(page.getByRole('heading', { level: 1 })).toContainText('API down or degraded');
    // The list asked the worker to keep every runbook: wait until one never opened is stored.
    await expect
      .poll(() => page.evaluate(async () => {
        const cache = await caches.open('lookout-offline-v1');
        return Boolean(await cache.match(`${location.origin}/runbooks/disaster-recovery`));
      }), { timeout: 15_000 })
      .toBe(true);

    await stopServer(server);
    const down = await fetch(`http://127.0.0.1:${OFFLINE_PORT}/healthz`).then(() => 'up', () => 'down');
    expect(down).toBe('down');

    await page.goto('/runbooks/api-down');
    await expect(page.locator('.offline-banner')).toContainText('Offline copy from');
    await expect(page.getByRole('heading', { level: 1 })).toContainText('API down or degraded');
    await expect(page.locator('.runbook-body pre').first()).toContainText('curl -sS');

    await page.goto('/runbooks/disaster-recovery');
    await expect(page.locator('.offline-banner')).toContainText('Offline copy from');
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Disaster recovery');

    await page.goto('/');
    await expect(page.locator('.offline-banner')).toContainText('Offline copy from');
    await expect(page.locator('section.env-card[data-environment="production"]')).toBeVisible();
    // Styled from the cache too.
    await expect(page.locator('.offline-banner')).not.toHaveCSS('background-color', 'rgba(0, 0, 0, 0)');
  } finally {
    await context.close();
    await stopServer(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

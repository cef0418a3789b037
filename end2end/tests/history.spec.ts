import { expect, test } from '@playwright/test';
import { expectNoPageErrors, open, pushDeployment } from './helpers';

test('the history merges every provider, newest first, with failed deploys standing out', async ({ page }, testInfo) => {
  const errors = await open(page, testInfo, '/history');
  await expect(page.getByRole('heading', { name: 'Deploy history' })).toBeVisible();
  const rows = page.locator('ol.history > li');
  expect(await rows.count()).toBeGreaterThanOrEqual(12);
  for (const provider of ['Vercel', 'Render', 'Railway']) {
    await expect(page.locator('ol.history').getByText(provider, { exact: true }).first()).toBeVisible();
  }
  const failed = page.locator('li.history-row.bad');
  await expect(failed.first()).toContainText('Switch to connection pooler');
  await expect(failed.first()).toContainText('failed');
  // Newest first: the datetime attributes descend.
  const times = await page.locator('ol.history .history-when time').evaluateAll((nodes) =>
    nodes.map((node) => Date.parse(node.getAttribute('datetime') ?? '')),
  );
  expect(times).toEqual([...times].sort((a, b) => b - a));
  expectNoPageErrors(errors);
});

test('filtering by service and state puts the filter in the URL', async ({ page }, testInfo) => {
  await open(page, testInfo, '/history');
  const form = page.getByRole('search', { name: 'Filter the history' });
  await form.getByLabel('Service').selectOption('api');
  await form.getByLabel('State').selectOption('failed');
  await form.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/\/history\?(.*&)?service=api(&|$)/);
  await expect(page).toHaveURL(/state=failed/);
  const rows = page.locator('ol.history > li');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Switch to connection pooler');
  await expect(rows.first()).toHaveAttribute('data-service', 'api');
  await expect(page.getByRole('link', { name: 'Clear filters' })).toHaveAttribute('href', '/history');

  // The filtered URL is shareable: opening it directly shows the same rows.
  const url = page.url();
  await page.goto(url);
  await expect(page.locator('ol.history > li')).toHaveCount(1);
  await expect(page.getByRole('search').getByLabel('Service')).toHaveValue('api');
});

test('a service page shows its environments, uptime and history', async ({ page }, testInfo) => {
  const errors = await open(page, testInfo, '/services/api');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('api');
  await expect(page.getByRole('region', { name: 'production' })).toContainText('Uptime 24 h');
  await expect(page.getByRole('region', { name: 'production' }).locator('svg.sparkline')).toHaveCount(2);
  await expect(page.locator('ol.history > li').first()).toHaveAttribute('data-service', 'api');
  await expect(page.getByRole('link', { name: 'Full history of this service' })).toHaveAttribute('href', '/history?service=api');
  expectNoPageErrors(errors);
});

test('a bad filter says what is wrong', async ({ page }) => {
  await page.goto('/history?state=exploded');
  await expect(page.getByRole('alert')).toContainText('`exploded` is not a deployment state');
});

test('a new deployment appears at the top of an open history page', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== 'hydrated', 'live updates need the wasm bundle');
  const errors = await open(page, testInfo, '/history');
  const message = `History live ${Date.now()}`;
  await pushDeployment({
    // A preview the other tests do not assert on.
    service: 'web',
    environment: 'preview',
    branch: 'fix/login-timeout',
    pr_number: 57,
    commit_sha: '0123abcd0123abcd0123abcd0123abcd0123abcd',
    message,
    author: 'E2E Test',
    outcome: 'building',
  });
  await expect(page.locator('ol.history > li').first()).toContainText(message, { timeout: 15_000 });
  expectNoPageErrors(errors);
});

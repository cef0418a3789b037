import { expect, test } from '@playwright/test';
import { isHydrated, open } from './helpers';

test('the home page shows production, staging and preview cards with live versions', async ({ page }, testInfo) => {
  const errors = await open(page, testInfo);

  await expect(page.getByRole('note').filter({ hasText: 'Demo data' })).toBeVisible();

  const production = page.locator('section.env-card[data-environment="production"]');
  const staging = page.locator('section.env-card[data-environment="staging"]');
  const previews = page.locator('section.env-card.kind-preview');
  await expect(production).toBeVisible();
  await expect(staging).toBeVisible();
  await expect(previews).toHaveCount(2);
  await expect(page.getByRole('heading', { name: /feature\/checkout-redesign \(#42\)/ })).toBeVisible();
  await expect(page.getByRole('heading', { name: /fix\/login-timeout \(#57\)/ })).toBeVisible();

  // Live versions per service in production: short sha + commit message.
  const row = (card: typeof production, service: string) => card.locator(`li.svc-row[data-service="${service}"]`);
  await expect(row(production, 'web')).toContainText('c4d9e2f');
  await expect(row(production, 'web')).toContainText('Cache product images at the edge');
  await expect(row(production, 'web')).toContainText('Vercel');
  await expect(row(production, 'api')).toContainText('f0e1d2c');
  await expect(row(production, 'api')).toContainText('Render');
  await expect(row(production, 'worker')).toContainText('6d7e8f9');
  await expect(row(production, 'worker')).toContainText('Railway');
  await expect(row(production, 'db')).toContainText('health check only');

  // The degraded service says so in words, and the card rolls up to it.
  await expect(row(production, 'api')).toContainText('degraded');
  await expect(production.locator('.env-header')).toContainText('Degraded');

  // Staging's newer api build failed: the row says the old version is still live.
  await expect(row(staging, 'api')).toContainText('failed');
  await expect(row(staging, 'api')).toContainText('still live');

  // Relative times carry the absolute time.
  await expect(row(production, 'web').locator('time').first()).toHaveAttribute('title', /UTC$/);

  if (isHydrated(testInfo)) {
    await expect(page.getByRole('status')).toHaveText('Live');
  } else {
    await expect(page.getByRole('status')).toContainText('reload');
  }
  expect(errors).toEqual([]);
});

test('environment chips jump to their cards', async ({ page }, testInfo) => {
  await open(page, testInfo);
  const chip = page.getByRole('navigation', { name: 'Environments' }).getByRole('link', { name: /staging/ });
  await expect(chip).toHaveAttribute('href', '#env-staging');
  await chip.click();
  await expect(page).toHaveURL(/#env-staging$/);
});

test("an environment's own view lists only its services, says so and leads back", async ({ page }, testInfo) => {
  const errors = await open(page, testInfo, '/?environment=staging');
  const cards = page.locator('section.env-card');
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toHaveAttribute('data-environment', 'staging');
  await expect(cards.first().locator('li.svc-row[data-service="api"]')).toContainText('failed');
  await expect(cards.first().locator('.env-more')).toContainText(/Services 1–\d+ of \d+\./);
  await expect(cards.first().locator('.env-more')).toContainText('Page 1 of 1');
  await expect(page.getByText('All services in staging.')).toBeVisible();
  const back = page.getByRole('link', { name: 'Back to every environment' });
  await expect(back).toHaveAttribute('href', '/');
  await back.click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('section.env-card[data-environment="production"]')).toBeVisible();
  // The demo's cards are small enough to show whole: no "showing N of M" footer there.
  await expect(page.locator('.env-more')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('an environment that does not exist says so', async ({ page }) => {
  const response = await page.goto('/?environment=no-such-environment');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('alert')).toContainText('no environment is named `no-such-environment`');
});

test('an unknown page is a 404 with a way back', async ({ page }) => {
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Back to the status page' })).toHaveAttribute('href', '/');
});

import { expect, test } from '@playwright/test';
import { expectNoPageErrors, isHydrated, open, pushDeployment } from './helpers';

test('a new deployment appears in the open page without a reload', async ({ page }, testInfo) => {
  test.skip(!isHydrated(testInfo), 'live updates need the wasm bundle');
  const errors = await open(page, testInfo);
  await expect(page.getByRole('status')).toHaveText('Live');
  const marker = await page.evaluate(() => {
    (window as unknown as { lookoutMarker: number }).lookoutMarker = 42;
    return 42;
  });

  const message = `Live update ${Date.now()}`;
  await pushDeployment({
    service: 'worker',
    environment: 'staging',
    commit_sha: 'abcdef1234567890abcdef1234567890abcdef12',
    message,
    author: 'E2E Test',
    outcome: 'ready',
  });

  const row = page.locator('section.env-card[data-environment="staging"] li.svc-row[data-service="worker"]');
  await expect(row).toContainText(message, { timeout: 15_000 });
  await expect(row).toContainText('abcdef1');
  // Same document: the page was not reloaded.
  expect(await page.evaluate(() => (window as unknown as { lookoutMarker: number }).lookoutMarker)).toBe(marker);
  expectNoPageErrors(errors);
});

test('without JavaScript the page refreshes itself', async ({ page }, testInfo) => {
  test.skip(isHydrated(testInfo), 'only the no-JS page needs the refresh');
  await open(page, testInfo);
  await expect(page.locator('meta[http-equiv="refresh"]')).toHaveAttribute('content', '60');
});

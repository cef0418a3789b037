import { expect, Page, test } from '@playwright/test';
import { expectNoPageErrors, isHydrated, open } from './helpers';

/** Signs in through the login form (a plain POST: works with and without JavaScript). */
async function signIn(page: Page, user: string, password: string) {
  await page.goto('/login');
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login') || url.search.includes('error')), page.getByRole('button', { name: 'Sign in' }).click()]);
}

test('the login page lists the demo accounts and a wrong password says so', async ({ page }, testInfo) => {
  const errors = await open(page, testInfo, '/login');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const accounts = page.locator('section.demo-logins');
  await expect(accounts).toContainText('deployer-demo');
  await expect(accounts).toContainText('admin');
  // The status page is public in the demo: the page says signing in is for acting.
  await expect(page.getByText('signing in lets you act')).toBeVisible();

  await signIn(page, 'deployer', 'wrong-password');
  await expect(page).toHaveURL(/\/login\?error=invalid/);
  await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');
  expectNoPageErrors(errors);
});

test('a deployer signs in, is named in the header, and signs out', async ({ page }, testInfo) => {
  const errors: string[] = [];
  const cspViolations: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) cspViolations.push(page.url() + ' ' + message.text().slice(0, 60));
  });
  await page.goto('/history');
  await page.getByRole('link', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login\?next=%2Fhistory/);
  await page.getByLabel('User name').fill('deployer');
  await page.getByLabel('Password').fill('deployer-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Back where they were, signed in.
  await expect(page).toHaveURL(/\/history$/);
  const header = page.locator('header.topbar');
  await expect(header.locator('.who-name')).toHaveText('deployer');
  await expect(header.locator('.who-role')).toHaveText('deployer');
  await expect(header.getByRole('link', { name: 'Audit' })).toHaveCount(0);
  if (isHydrated(testInfo)) {
    await expect(page.locator('main#main')).toHaveAttribute('data-hydrated', 'true');
  }

  await header.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('header.topbar').getByRole('link', { name: 'Sign in' })).toBeVisible();
  expectNoPageErrors(errors);
  expect(cspViolations, 'the strict CSP blocks nothing Lookout needs').toEqual([]);
});

test('only the admin sees the audit log, which records sign-ins', async ({ page }, testInfo) => {
  await signIn(page, 'viewer', 'viewer-demo');
  const viewerAudit = await page.goto('/audit');
  expect(viewerAudit?.status()).toBe(403);
  await expect(page.getByRole('alert')).toContainText('needs the admin role');

  await page.locator('header.topbar').getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, 'admin', 'admin-demo');
  await expect(page.locator('header.topbar').getByRole('link', { name: 'Audit' })).toBeVisible();
  const errors = await open(page, testInfo, '/audit');
  const table = page.locator('table.audit');
  await expect(table).toBeVisible();
  await expect(table.locator('tbody tr').first()).toContainText('admin');
  await expect(table).toContainText('login');
  await expect(table).toContainText('succeeded');

  // The filters are a GET form: choosing "logout" narrows the rows and the choice stays selected.
  const action = page.getByLabel('Action');
  await expect(action.locator('option').first()).toHaveText('All');
  await action.selectOption('logout');
  await Promise.all([page.waitForURL(/action=logout/), page.getByRole('button', { name: 'Filter' }).click()]);
  await expect(page.getByLabel('Action')).toHaveValue('logout');
  const rows = page.locator('table.audit tbody tr');
  await expect(rows.first()).toContainText('logout');
  await expect(rows.filter({ hasText: 'login' })).toHaveCount(0);
  expectNoPageErrors(errors);
});

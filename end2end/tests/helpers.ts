import { expect, Page, TestInfo } from '@playwright/test';

export const SIMULATOR = `http://127.0.0.1:${process.env.LOOKOUT_E2E_SIMULATOR_PORT ?? 3198}`;

/** True in the project that runs with the wasm bundle. */
export function isHydrated(testInfo: TestInfo): boolean {
  return testInfo.project.name === 'hydrated';
}

/** Fails the test if the page threw (a panic in the wasm bundle shows up here). */
export function expectNoPageErrors(errors: string[]) {
  expect(errors, 'errors thrown in the page').toEqual([]);
}

/** Opens a page; in the hydrated project, waits until the wasm bundle has taken over. */
export async function open(page: Page, testInfo: TestInfo, path = '/') {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const response = await page.goto(path);
  expect(response?.status()).toBe(200);
  const main = page.locator('main#main');
  if (isHydrated(testInfo)) {
    await expect(main).toHaveAttribute('data-hydrated', 'true');
  } else {
    await expect(main).toHaveAttribute('data-hydrated', 'false');
  }
  return errors;
}

/** Tells the demo simulators about a new deployment (the `/_control` API). */
export async function pushDeployment(deployment: {
  service: string;
  environment: string;
  commit_sha: string;
  message: string;
  author: string;
  outcome: 'ready' | 'failed' | 'building' | 'canceled';
  branch?: string;
  pr_number?: number;
}) {
  const response = await fetch(`${SIMULATOR}/_control/deploy`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(deployment),
  });
  expect(response.status).toBe(200);
}

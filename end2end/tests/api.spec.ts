import { expect, test } from '@playwright/test';

test('GET /api/v1/status reports web on Vercel and api on Render in every environment kind', async ({ request }, testInfo) => {
  test.skip(testInfo.project.name !== 'no-js', 'API tests do not depend on JavaScript: run once');
  const response = await request.get('/api/v1/status');
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toContain('application/json');
  const status = await response.json();
  expect(status.demo).toBe(true);
  const byName = Object.fromEntries(status.environments.map((env: { name: string }) => [env.name, env]));
  const service = (env: string, name: string) => byName[env].services.find((s: { service: string }) => s.service === name);

  expect(service('production', 'web').provider).toBe('vercel');
  expect(service('production', 'web').live.commit_sha).toMatch(/^c4d9e2f/);
  expect(service('production', 'api').provider).toBe('render');
  expect(service('production', 'api').live.state).toBe('ready');
  expect(service('production', 'api').health.state).toBe('degraded');
  expect(service('staging', 'web').provider).toBe('vercel');
  expect(service('staging', 'api').provider).toBe('render');
  expect(service('staging', 'api').pending.state).toBe('failed');

  const previews = status.environments.filter((env: { kind: string }) => env.kind === 'preview');
  expect(previews.map((env: { branch: string }) => env.branch).sort()).toEqual(['feature/checkout-redesign', 'fix/login-timeout']);
  const checkout = previews.find((env: { pr_number: number }) => env.pr_number === 42);
  expect(checkout.services.find((s: { service: string }) => s.service === 'web').provider).toBe('vercel');

  for (const env of status.environments) {
    for (const svc of env.services) {
      expect(svc.poll).toHaveProperty('stale');
      expect(svc.poll).toHaveProperty('last_success_at');
    }
  }
});

test('probes answer', async ({ request }, testInfo) => {
  test.skip(testInfo.project.name !== 'no-js', 'run once');
  expect((await request.get('/healthz')).status()).toBe(200);
  const ready = await request.get('/readyz');
  expect(ready.status()).toBe(200);
  expect((await ready.json()).monitor).toBe('running');
});

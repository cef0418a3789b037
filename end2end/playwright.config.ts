// Browser tests: Debian's Chromium driven by Playwright (never `npx playwright install`).
// Every page test runs twice: with JavaScript disabled (the server-rendered page must be
// complete) and hydrated (the wasm bundle takes over).
import { defineConfig } from '@playwright/test';
import path from 'node:path';

export const PORT = Number(process.env.LOOKOUT_E2E_PORT ?? 3199);
export const SIMULATOR_PORT = Number(process.env.LOOKOUT_E2E_SIMULATOR_PORT ?? 3198);

const launchOptions = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions,
  },
  projects: [
    { name: 'no-js', use: { javaScriptEnabled: false } },
    { name: 'hydrated', use: { javaScriptEnabled: true } },
  ],
  webServer: {
    // The debug server with the release client bundle (built by `make test`), in demo mode.
    command: './target/debug/lookout serve',
    cwd: path.join(__dirname, '..'),
    url: `http://127.0.0.1:${PORT}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      PORT: String(PORT),
      LOOKOUT_DEMO_SIMULATOR_PORT: String(SIMULATOR_PORT),
      LOOKOUT_DEMO_POLL_SECS: '1',
      RUST_LOG: 'warn',
    },
  },
});

// Screenshots of a running Lookout at phone and desktop widths, light and dark, with and
// without JavaScript: `node scripts/screenshots.mjs http://localhost:3000 /tmp/shots [PATH]`.
// LOOKOUT_SHOT_LOGIN=user:password signs in through the login form first.
import { chromium } from '@playwright/test';
import { mkdirSync } from 'node:fs';

const [base = 'http://localhost:3000', out = 'screenshots', path = '/'] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const views = [
  { name: 'phone', viewport: { width: 360, height: 800 } },
  { name: 'desktop', viewport: { width: 1280, height: 900 } },
];
for (const view of views) {
  for (const colorScheme of ['light', 'dark']) {
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ viewport: view.viewport, colorScheme, javaScriptEnabled });
      const page = await context.newPage();
      if (process.env.LOOKOUT_SHOT_LOGIN) {
        const [user, password] = process.env.LOOKOUT_SHOT_LOGIN.split(':');
        await page.goto(base + '/login');
        await page.fill('input[name=username]', user);
        await page.fill('input[name=password]', password);
        await Promise.all([page.waitForNavigation(), page.click('form.login-form button[type=submit]')]);
      }
      await page.goto(base + path);
      if (javaScriptEnabled) {
        await page.waitForSelector('main[data-hydrated="true"]', { timeout: 15000 });
      }
      const file = `${out}/${view.name}-${colorScheme}-${javaScriptEnabled ? 'js' : 'nojs'}.png`;
      await page.screenshot({ path: file, fullPage: true });
      console.log(file);
      await context.close();
    }
  }
}
await browser.close();

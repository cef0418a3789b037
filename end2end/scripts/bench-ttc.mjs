// Time to content of a running Lookout in headless Chromium:
// `node scripts/bench-ttc.mjs BASE_URL [PATH=/] [RUNS=5]` (from end2end/).
//
// Four modes: JavaScript disabled ("nojs") and enabled, hydrated ("js"), each with a cold and a
// warm HTTP cache. Cold: a fresh browser context (empty cache) per run, one navigation. Warm: one
// context, one untimed navigation (until `load` and, with JS, hydrated), then the timed second
// navigation to the same URL (the cache holds CSS/JS/wasm; Lookout serves them `no-cache`, so
// they are revalidated with conditional requests, not refetched). Before the timed runs one
// untimed navigation per mode warms the server and the browser. Modes are interleaved per run.
//
// Method: the browser's own clock in both modes, all figures in ms since the page's navigation
// start (`performance.timeOrigin`), read with `page.evaluate` once Playwright has seen
// `section.env-card` visible:
// - first card = the page's Paint Timing `first-contentful-paint`, provided the card was in the
//   DOM by then. The status page renders its data blocking on the server, so all cards come in
//   the one HTML response, the first one near its top. With JS disabled the proof is that
//   parsing had ended (`domInteractive`) by the first paint; if not (noted on stderr), the
//   figure falls back to the page's `performance.now()` when the card was seen, an upper bound.
//   With JS an init script's MutationObserver stamps when the card entered the DOM; if that was
//   after the first paint, the figure is the start of the next frame (`requestAnimationFrame`).
// - hydrated (JS only) = the same observer's stamp when `main` got `data-hydrated="true"` (the
//   app sets it once the wasm has hydrated).
// Why not the wall clock in Node around `goto` + `waitForSelector` (printed on stderr for
// comparison): with JS the main thread is busy with the wasm while Playwright polls, so it sees
// the card 100–300 ms after the paint the user already sees. With JavaScript disabled a
// synchronous `page.evaluate` still works (it goes through DevTools), but callbacks never run
// (a `requestAnimationFrame` promise never settles), hence nothing is observed in the page
// there; Paint Timing is recorded by the browser either way (in 4 ms steps in Chromium).
//
// Output, stdout only: `name<TAB>median<TAB>ms` per figure (one decimal); per-run values on
// stderr. Each navigation has 20 s; any failure prints a message to stderr and exits 1.
import { chromium } from '@playwright/test';

const NAV_TIMEOUT_MS = 20000;
const CARD = 'section.env-card';
const HYDRATED = 'main[data-hydrated="true"]';

const usage = 'usage: node scripts/bench-ttc.mjs BASE_URL [PATH=/] [RUNS=5]';
const [baseArg, pathArg = '/', runsArg = '5'] = process.argv.slice(2);
if (!baseArg || !/^https?:\/\//.test(baseArg)) fail(`${usage}\nBASE_URL must be an http(s) URL`);
if (!pathArg.startsWith('/')) fail(`${usage}\nPATH must start with /`);
if (!/^[1-9][0-9]*$/.test(runsArg)) fail(`${usage}\nRUNS must be a positive integer`);
const url = baseArg.replace(/\/+$/, '') + pathArg;
const runs = Number(runsArg);

function log(message) {
  process.stderr.write(message + '\n');
}

function fail(message) {
  log(`bench-ttc: ${message}`);
  process.exit(1);
}

// Never hang: a last resort if something outside the per-navigation timeouts stalls.
const navigations = 2 + runs * 6;
const watchdog = setTimeout(() => fail(`gave up after ${navigations * 25 + 60} s overall`),
  (navigations * 25 + 60) * 1000);
watchdog.unref();

let browser;

// Lives in the page (JS mode only; the init script runs before the document's own). Stamps
// `performance.now()` when the first card enters the DOM (observers are told at the next
// microtask checkpoint, so before any paint that could show it), the frame after that
// (`requestAnimationFrame` runs at the start of the frame that renders it), and when `main`
// turns hydrated.
function stampPage() {
  const stamps = (window.__ttc = {});
  const observer = new MutationObserver(() => {
    if (stamps.cardAt === undefined && document.querySelector('section.env-card')) {
      stamps.cardAt = performance.now();
      requestAnimationFrame(() => { stamps.cardFrameAt = performance.now(); });
    }
    if (stamps.hydratedAt === undefined && document.querySelector('main[data-hydrated="true"]')) {
      stamps.hydratedAt = performance.now();
    }
    if (stamps.cardAt !== undefined && stamps.hydratedAt !== undefined) observer.disconnect();
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-hydrated'] });
}

async function newContext(js) {
  const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 720 } });
  context.setDefaultTimeout(NAV_TIMEOUT_MS);
  if (js) await context.addInitScript(stampPage);
  return context;
}

function remaining(deadline, what) {
  const left = deadline - Date.now();
  if (left <= 0) throw new Error(`${what}: over ${NAV_TIMEOUT_MS / 1000} s`);
  return left;
}

// One navigation, until the first card is visible and painted (and, with JS, hydrated); returns
// the figures in ms since navigation start (the untimed priming and warm-up ones are dropped).
async function navigate(page, js, label) {
  const deadline = Date.now() + NAV_TIMEOUT_MS;
  const errors = [];
  const onError = (error) => errors.push(String(error.message ?? error).split('\n')[0]);
  page.on('pageerror', onError);
  const wallStart = performance.now();
  try {
    let response;
    try {
      response = await page.goto(url, { waitUntil: 'commit', timeout: NAV_TIMEOUT_MS });
    } catch (error) {
      throw new Error(`${label}: loading ${url} failed: ${error.message.split('\n')[0]}`);
    }
    if (!response) throw new Error(`${label}: no response for ${url}`);
    if (!response.ok()) throw new Error(`${label}: ${url} answered HTTP ${response.status()}`);
    try {
      await page.waitForSelector(CARD, { state: 'visible', timeout: remaining(deadline, label) });
    } catch (error) {
      throw new Error(`${label}: no visible ${CARD} within ${NAV_TIMEOUT_MS / 1000} s `
        + `(page ${page.url()}): ${error.message.split('\n')[0]}`);
    }
    const wallCard = performance.now() - wallStart;
    const seenAt = await page.evaluate(() => performance.now());
    // Paint Timing may be recorded a little after the card is in the DOM: poll (synchronous
    // evaluations only; they work with JavaScript disabled too).
    let paint;
    for (;;) {
      paint = await page.evaluate((selector) => {
        const fcp = performance.getEntriesByType('paint').find((e) => e.name === 'first-contentful-paint');
        const nav = performance.getEntriesByType('navigation')[0];
        const card = document.querySelector(selector).getBoundingClientRect();
        return {
          fcp: fcp ? fcp.startTime : null,
          domInteractive: nav && nav.domInteractive > 0 ? nav.domInteractive : null,
          inViewport: card.top < window.innerHeight && card.bottom > 0,
          stamps: window.__ttc ?? null,
        };
      }, CARD);
      const stamps = paint.stamps;
      const ready = paint.fcp !== null && (!js || !stamps || (stamps.cardAt !== undefined
        && (stamps.cardAt <= paint.fcp || stamps.cardFrameAt !== undefined)));
      if (ready) break;
      remaining(deadline, `${label}: waiting for the first paint`);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const { fcp, domInteractive, stamps } = paint;
    let card;
    let note = '';
    if (js && stamps) {
      // In the DOM by the first paint: that paint showed it; else the frame after it came.
      card = stamps.cardAt <= fcp ? fcp : stamps.cardFrameAt;
      if (stamps.cardAt > fcp) note = ` (card in the DOM at ${stamps.cardAt.toFixed(1)} ms, after the first paint: using the next frame)`;
    } else if (domInteractive !== null && domInteractive <= fcp) {
      card = fcp;
    } else {
      card = seenAt;
      note = js
        ? ' (no stamps from the init script: using the time the card was seen)'
        : ` (first paint ${fcp.toFixed(1)} ms came before parsing ended at ${domInteractive?.toFixed(1)} ms: `
          + 'using the time the card was seen, an upper bound)';
    }
    if (!paint.inViewport) note += ' (the first card is below the fold)';
    let hydrated = null;
    if (js) {
      try {
        await page.waitForSelector(HYDRATED, { state: 'attached', timeout: remaining(deadline, label) });
      } catch (error) {
        throw new Error(`${label}: not hydrated (no ${HYDRATED}) within ${NAV_TIMEOUT_MS / 1000} s`
          + (errors.length ? `; page errors: ${errors.join(' | ')}` : '')
          + `: ${error.message.split('\n')[0]}`);
      }
      hydrated = await page.evaluate(() => window.__ttc?.hydratedAt ?? null);
      if (hydrated === null) {
        hydrated = await page.evaluate(() => performance.now());
        note += ' (no hydration stamp: using the time it was seen)';
      }
    }
    return { card, hydrated, wallCard, note };
  } finally {
    page.off('pageerror', onError);
  }
}

async function settle(page, label) {
  try {
    await page.waitForLoadState('load', { timeout: NAV_TIMEOUT_MS });
  } catch (error) {
    throw new Error(`${label}: no load event within ${NAV_TIMEOUT_MS / 1000} s`);
  }
}

async function cold(js, label) {
  const context = await newContext(js);
  try {
    return await navigate(await context.newPage(), js, label);
  } finally {
    await context.close();
  }
}

async function warm(js, label) {
  const context = await newContext(js);
  try {
    const page = await context.newPage();
    await navigate(page, js, `${label} (priming)`);
    await settle(page, `${label} (priming)`);
    return await navigate(page, js, label);
  } finally {
    await context.close();
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const modes = [
  { cache: 'cold', js: false },
  { cache: 'warm', js: false },
  { cache: 'cold', js: true },
  { cache: 'warm', js: true },
];

try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  log(`bench-ttc: ${url}, ${runs} run(s) per mode`);
  for (const js of [false, true]) {
    const label = `warm-up ${js ? 'js' : 'nojs'}`;
    const context = await newContext(js);
    try {
      const page = await context.newPage();
      await navigate(page, js, label);
      await settle(page, label);
    } finally {
      await context.close();
    }
  }
  const figures = new Map();
  const record = (name, value) => figures.set(name, [...(figures.get(name) ?? []), value]);
  for (let run = 1; run <= runs; run++) {
    for (const { cache, js } of modes) {
      const mode = `${cache}_${js ? 'js' : 'nojs'}`;
      const label = `${mode} run ${run}/${runs}`;
      const result = await (cache === 'cold' ? cold : warm)(js, label);
      record(`ttc_first_card_${mode}`, result.card);
      if (js) record(`ttc_hydrated_${mode}`, result.hydrated);
      log(`${label}: first card ${result.card.toFixed(1)} ms`
        + (js ? `, hydrated ${result.hydrated.toFixed(1)} ms` : '')
        + ` [wall clock to card seen: ${result.wallCard.toFixed(1)} ms]${result.note}`);
    }
  }
  const order = [
    'ttc_first_card_cold_nojs', 'ttc_first_card_warm_nojs', 'ttc_first_card_cold_js',
    'ttc_first_card_warm_js', 'ttc_hydrated_cold_js', 'ttc_hydrated_warm_js',
  ];
  for (const name of order) {
    const values = figures.get(name);
    log(`${name}: min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)} ms`);
  }
  for (const name of order) {
    process.stdout.write(`${name}\t${median(figures.get(name)).toFixed(1)}\tms\n`);
  }
  await browser.close();
} catch (error) {
  log(`bench-ttc: ${error.message}`);
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  process.exit(1);
}

// Lookout's service worker: keeps runbook pages and the last status page for offline reading.
//
// Pages (/, /runbooks, /runbooks/{slug}) are network-first: a fresh copy is stored on every
// successful load; when the server cannot be reached the stored copy is served, marked
// "Offline copy from <time>". The stylesheet, this site's small script and runbook images are
// kept the same way. Nothing else is touched (server functions, the live stream, the wasm
// bundle: an offline copy is a plain page). A response marked `Cache-Control: no-store` (what
// the server sends to a signed-in user, for a private dashboard, the sign-in page, the audit
// log and rollbacks) is never stored, and it replaces no stored copy either.
'use strict';

const CACHE = 'lookout-offline-v1';
const STORED_AT = 'x-lookout-stored-at';
const PRECACHE = ['/', '/runbooks', '/pkg/main.css', '/lookout.js', '/favicon.svg'];

function isPage(url) {
  if (url.origin !== self.location.origin) return false;
  const path = url.pathname;
  return (
    path === '/' ||
    path === '/runbooks' ||
    (path.startsWith('/runbooks/') && !path.startsWith('/runbooks/assets/'))
  );
}

function isAsset(url) {
  if (url.origin !== self.location.origin) return false;
  const path = url.pathname;
  return (
    path === '/pkg/main.css' ||
    path === '/lookout.js' ||
    path === '/favicon.svg' ||
    path.startsWith('/runbooks/assets/')
  );
}

function cacheKey(url) {
  return url.origin + url.pathname + url.search;
}

function mayStore(response) {
  const cacheControl = (response.headers.get('cache-control') || '').toLowerCase();
  return response.ok && response.type === 'basic' && !/(^|[\s,])(no-store|private)([\s,=]|$)/.test(cacheControl);
}

async function store(key, response) {
  if (!mayStore(response)) {
    // What this browser was shown is not for later: forget an older public copy too, so
    // an offline visit never shows a page from before someone signed in.
    if (response.ok) await (await caches.open(CACHE)).delete(key);
    return;
  }
  const headers = new Headers(response.headers);
  headers.set(STORED_AT, new Date().toISOString());
  // The body is stored decoded: drop what described the encoded bytes.
  headers.delete('content-encoding');
  headers.delete('content-length');
  const body = await response.blob();
  const cache = await caches.open(CACHE);
  await cache.put(key, new Response(body, { status: response.status, statusText: response.statusText, headers }));
}

async function fetchAndStore(path) {
  const url = new URL(path, self.location.origin);
  const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  await store(cacheKey(url), response);
}

async function stored(url) {
  const cache = await caches.open(CACHE);
  return (await cache.match(cacheKey(url))) || (await cache.match(url.origin + url.pathname, { ignoreSearch: true }));
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

async function offlineCopy(cached) {
  const at = cached.headers.get(STORED_AT) || '';
  const when = at ? new Date(at) : null;
  const shown = when && !isNaN(when) ? when.toLocaleString() : 'an earlier visit';
  const banner =
    '<p class="offline-banner" role="alert" data-offline-copy="' + escapeHtml(at) + '">' +
    '<strong>Offline copy from <time datetime="' + escapeHtml(at) + '">' + escapeHtml(shown) + '</time>.</strong> ' +
    'The Lookout server cannot be reached; this is the last copy this browser saw and may be out of date.</p>';
  const html = await cached.text();
  const marked = /<body[^>]*>/i.test(html) ? html.replace(/<body[^>]*>/i, (tag) => tag + banner) : banner + html;
  const headers = new Headers(cached.headers);
  headers.set('content-type', 'text/html; charset=utf-8');
  headers.delete('content-length');
  headers.delete('content-encoding');
  return new Response(marked, { status: 200, headers });
}

function unreachablePage() {
  const html =
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>Lookout is unreachable</title><link rel="stylesheet" href="/pkg/main.css"></head><body>' +
    '<p class="offline-banner" role="alert"><strong>The Lookout server cannot be reached</strong> and this browser has no offline copy of this page.</p>' +
    '<main class="page"><p><a href="/runbooks">Runbooks kept for offline reading</a> · <a href="/">Last status page</a></p></main></body></html>';
  return new Response(html, { status: 503, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

async function page(request, url) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      await store(cacheKey(url), response.clone());
    }
    return response;
  } catch (error) {
    const cached = await stored(url);
    return cached ? offlineCopy(cached) : unreachablePage();
  }
}

async function asset(request, url) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      await store(cacheKey(url), response.clone());
    }
    return response;
  } catch (error) {
    const cached = await stored(url);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener('install', (event) => {
  self.skipWaiting();
  event.waitUntil(Promise.all(PRECACHE.map((path) => fetchAndStore(path).catch(() => undefined))));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)));
      await self.clients.claim();
    })()
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Signing in or out changes what pages may show: forget the copies kept for the last user
  // (the request itself goes to the network untouched).
  if (request.method === 'POST' && (url.pathname === '/login' || url.pathname === '/logout')) {
    event.waitUntil(caches.delete(CACHE));
    return;
  }
  if (request.method !== 'GET') return;
  if (request.mode === 'navigate' && isPage(url)) {
    event.respondWith(page(request, url));
  } else if (isAsset(url)) {
    event.respondWith(asset(request, url));
  }
});

// The runbook list asks to keep every runbook it shows.
self.addEventListener('message', (event) => {
  const data = event.data || {};
  if (data.type !== 'keep-pages' || !Array.isArray(data.urls)) return;
  const paths = data.urls
    .map((href) => new URL(href, self.location.origin))
    .filter((url) => isPage(url))
    .slice(0, 200)
    .map((url) => url.pathname);
  event.waitUntil(Promise.all(paths.map((path) => fetchAndStore(path).catch(() => undefined))));
});

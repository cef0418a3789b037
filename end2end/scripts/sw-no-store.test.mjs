// Unit test of public/sw.js without a browser (node --test): responses marked no-store are
// never stored and drop an older copy; public ones are stored. Run: node --test end2end/scripts/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

function load() {
  const entries = new Map();
  const cache = {
    put: async (key, response) => entries.set(key, response),
    delete: async (key) => entries.delete(key),
    match: async (key) => entries.get(key),
  };
  const context = {
    self: { location: { origin: 'https://status.example.com' }, addEventListener() {}, skipWaiting() {}, clients: {} },
    caches: { open: async () => cache, keys: async () => [], delete: async () => true },
    Headers, Response, URL, Blob, console,
  };
  context.addEventListener = () => {};
  vm.createContext(context);
  const source = readFileSync(new URL('../../public/sw.js', import.meta.url), 'utf8');
  vm.runInContext(source + '\nthis.store = store; this.mayStore = mayStore;', context);
  return { context, entries };
}

function response(cacheControl) {
  const headers = cacheControl ? { 'cache-control': cacheControl } : {};
  const made = new Response('<html><body>page</body></html>', { status: 200, headers });
  Object.defineProperty(made, 'type', { value: 'basic' });
  return made;
}

test('public pages are stored for offline reading', async () => {
  const { context, entries } = load();
  await context.store('https://status.example.com/', response(null));
  assert.equal(entries.size, 1);
  assert.equal(context.mayStore(response('no-cache')), true);
});

test('no-store responses are not stored and drop an older copy', async () => {
  const { context, entries } = load();
  await context.store('https://status.example.com/', response(null));
  await context.store('https://status.example.com/', response('no-store'));
  assert.equal(entries.size, 0);
  assert.equal(context.mayStore(response('private, max-age=0')), false);
  assert.equal(context.mayStore(response('No-Store')), false);
});

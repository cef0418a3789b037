// Precompresses the release client bundle once, at build time, at the highest settings
// (brotli quality 11, gzip level 9): `node scripts/precompress.mjs DIR`. The server's file
// service sends `X.br` / `X.gz` to browsers that accept them (tower-http ServeDir
// `precompressed_*`), instead of compressing each response on the fly at a fast, weaker level.
// Trunk runs it as a post-build hook for release builds only (Trunk.toml).
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/precompress.mjs DIR');
  process.exit(2);
}
const compressible = /\.(wasm|js|css|svg|json|html|txt|webmanifest)$/;
let files = 0;
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  if (!statSync(path).isFile() || !compressible.test(name)) continue;
  const bytes = readFileSync(path);
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  writeFileSync(`${path}.br`, brotli);
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
  files += 1;
  console.error(`precompressed ${name}: ${bytes.length} B → br ${brotli.length} B`);
}
console.error(`precompressed ${files} file(s) in ${dir}`);

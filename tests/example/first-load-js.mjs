// First-load JS per route of a `next build` (node first-load-js.mjs <app dir>). Next 16 no longer
// prints it, so it is computed as Next 15 did: the gzipped size of the JavaScript a first visit
// loads: the shared root chunks plus the route's and its layout's entry chunks (.next's manifests).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';

const next = path.join(process.argv[2] ?? '.', '.next');
const gz = new Map();
const size = (file) => {
  if (!gz.has(file)) gz.set(file, gzipSync(readFileSync(path.join(next, file))).length);
  return gz.get(file);
};
const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

const routes = JSON.parse(readFileSync(path.join(next, 'app-path-routes-manifest.json'), 'utf8'));
const rows = [];
for (const [entry, route] of Object.entries(routes).sort((a, b) => a[1].localeCompare(b[1]))) {
  if (!entry.endsWith('/page') || route.startsWith('/_')) continue;
  const dir = path.join(next, 'server/app', entry);
  const build = JSON.parse(readFileSync(path.join(dir, 'build-manifest.json'), 'utf8'));
  const files = new Set(build.rootMainFiles);
  const clientManifest = `${dir}_client-reference-manifest.js`;
  if (existsSync(clientManifest)) {
    const sandbox = { globalThis: {} };
    vm.runInNewContext(readFileSync(clientManifest, 'utf8'), sandbox);
    for (const list of Object.values(Object.values(sandbox.globalThis.__RSC_MANIFEST)[0].entryJSFiles ?? {})) {
      for (const file of list) files.add(file);
    }
  }
  const shared = build.rootMainFiles.reduce((sum, f) => sum + size(f), 0);
  const total = [...files].reduce((sum, f) => sum + size(f), 0);
  rows.push([route, kB(total - shared), kB(total)]);
}
const width = Math.max(...rows.map((r) => r[0].length), 5);
console.log(`${'Route'.padEnd(width)}  ${'route+layout'.padStart(12)}  ${'first load'.padStart(10)}  (gzip)`);
for (const [route, own, total] of rows) console.log(`${route.padEnd(width)}  ${own.padStart(12)}  ${total.padStart(10)}`);
if (!rows.length) process.exitCode = 1;

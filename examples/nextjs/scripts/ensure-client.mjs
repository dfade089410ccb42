// Before `next dev` / `next build` (predev, prebuild): makes sure this app's packages and the
// client package it uses (../../clients/typescript, a `file:` dependency) are installed, and the
// client is built to its dist/. Each step runs only when its inputs changed, so it is quick on
// every run after the first and nothing needs setting up on a fresh clone.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const app = path.resolve(import.meta.dirname, '..');
const client = path.resolve(app, '../../clients/typescript');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : mtime(full));
  }
  return latest;
}
function run(cwd, ...args) {
  console.log(`ensure-client: npm ${args.join(' ')} (in ${path.relative(process.cwd(), cwd) || '.'})`);
  execFileSync(npm, args, { cwd, stdio: 'inherit' });
}
// npm writes node_modules/.package-lock.json on every install: older than the lockfile = stale.
function install(dir) {
  if (mtime(path.join(dir, 'node_modules/.package-lock.json')) < mtime(path.join(dir, 'package-lock.json'))) {
    run(dir, 'ci', '--no-audit', '--no-fund', '--loglevel=error');
  }
}

install(client);
const built = mtime(path.join(client, 'dist/index.js'));
const sources = Math.max(newest(path.join(client, 'src')), mtime(path.join(client, 'package.json')),
  mtime(path.join(client, 'tsconfig.json')), mtime(path.join(client, 'package-lock.json')));
if (built < sources) run(client, 'run', 'build');
install(app);

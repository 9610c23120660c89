// Runs `npm ci` when node_modules is missing, so a fresh clone needs only `npm run demo` or `npm test`.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  console.error('node_modules is missing: running npm ci first');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
}

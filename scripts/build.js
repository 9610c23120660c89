// `npm run build`: compiles src/ and workers/ to JavaScript in dist/ (tsc, type-checked), copies what the code reads
// at run time beside it (every file under src/ that is not TypeScript: Lua scripts, Handlebars views, the sample
// feed; and emails/), and records when the build started, so `bin/letterpress.js` runs it only while it is fresh.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const startedAt = Date.now();

rmSync(join(dist, 'build-info.json'), { force: true });
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) {
  console.error('build failed: tsc reported errors (see above)');
  process.exit(tsc.status ?? 1);
}

/** Copies every non-TypeScript file of `folder` into the same place under dist/. */
function copyAssets(folder, keep) {
  let copied = 0;
  for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !keep(entry.name)) continue;
    const from = join(entry.parentPath ?? entry.path, entry.name);
    const to = join(dist, relative(root, from));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to);
    copied += 1;
  }
  return copied;
}
const assets = copyAssets('src', (name) => !name.endsWith('.ts')) + copyAssets('emails', () => true);
writeFileSync(
  join(dist, 'build-info.json'),
  `${JSON.stringify({ builtAt: startedAt, node: process.versions.node }, null, 2)}\n`,
);
console.error(`built dist/ (${assets} asset files copied) in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

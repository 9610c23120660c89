// Which code the `letterpress` command runs: the compiled build (`npm run build` → dist/) when it is at least as new
// as every source file it was built from, or when there are no sources (a production image); otherwise the
// TypeScript sources through tsx, so a stale build never shadows newer sources in development.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The folders a build is made from; a file newer than the build in any of them makes the build stale. */
export const SOURCE_FOLDERS = ['src', 'workers', 'emails'];

/** Where `npm run build` records when it started (epoch ms), relative to the repository root. */
export const BUILD_INFO = 'dist/build-info.json';

function newestModification(folder) {
  let newest = 0;
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const modified = statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs;
    if (modified > newest) newest = modified;
  }
  return newest;
}

/**
 * Decides, for the repository at `root`, whether to run `dist` or `sources`, and says why.
 * @returns {{ kind: 'dist' | 'sources', reason: string }}
 */
export function chooseEntry(root) {
  const info = join(root, BUILD_INFO);
  if (!existsSync(info) || !existsSync(join(root, 'dist/src/cli/main.js'))) {
    return { kind: 'sources', reason: 'no build (run `npm run build` for the compiled code)' };
  }
  if (!existsSync(join(root, 'src'))) return { kind: 'dist', reason: 'no sources beside the build' };
  let builtAt;
  try {
    builtAt = Number(JSON.parse(readFileSync(info, 'utf8')).builtAt);
  } catch {
    return { kind: 'sources', reason: `${BUILD_INFO} is unreadable` };
  }
  const folders = SOURCE_FOLDERS.map((folder) => join(root, folder)).filter((folder) => existsSync(folder));
  const newest = Math.max(...folders.map(newestModification));
  if (!(newest <= builtAt)) return { kind: 'sources', reason: 'the sources changed since the build' };
  return { kind: 'dist', reason: 'the build is up to date' };
}

/** Loads the CLI's `runCli` from the chosen code (registering tsx first for the sources). */
export async function loadCli(kind) {
  if (kind === 'dist') return (await import('../dist/src/cli/main.js')).runCli;
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('../src/cli/main.ts')).runCli;
}

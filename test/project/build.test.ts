/**
 * The production build: `bin/letterpress.js` runs the compiled code only while it is at least as new as every source
 * (a stale build never shadows newer sources), and every file the code reads at run time beside itself is one the
 * build copies into dist/ (every non-TypeScript file under src/, and emails/).
 */
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseEntry } from '../../bin/choose-entry.js';
import { isWorkerCommand } from '../../bin/worker-thread.js';
import { repoRoot } from '../helpers/cli.js';

const folders: string[] = [];
afterEach(async () => {
  while (folders.length > 0) await rm(folders.pop() as string, { recursive: true, force: true });
});

async function layout(files: Record<string, Date>, builtAt?: Date): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'lp-build-'));
  folders.push(root);
  for (const [file, modified] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), '');
    await utimes(path.join(root, file), modified, modified);
  }
  if (builtAt) {
    await mkdir(path.join(root, 'dist/src/cli'), { recursive: true });
    await writeFile(path.join(root, 'dist/src/cli/main.js'), '');
    await writeFile(path.join(root, 'dist/build-info.json'), JSON.stringify({ builtAt: builtAt.getTime() }));
  }
  return root;
}

describe('which code the letterpress command runs', () => {
  const before = new Date('2026-11-27T06:00:00Z');
  const build = new Date('2026-11-27T07:00:00Z');
  const after = new Date('2026-11-27T08:00:00Z');

  it('runs the build only while no source, worker or email template is newer than it', async () => {
    const sources = { 'src/app.ts': before, 'workers/run-workers.ts': before, 'emails/digest.mjml': before };
    expect(chooseEntry(await layout(sources)).kind).toBe('sources');
    expect(chooseEntry(await layout(sources, build))).toEqual({ kind: 'dist', reason: 'the build is up to date' });
    for (const edited of ['src/delivery/lua/record-outcome.lua', 'workers/run-workers.ts', 'emails/digest.mjml']) {
      const root = await layout({ ...sources, [edited]: after }, build);
      expect(chooseEntry(root), edited).toEqual({ kind: 'sources', reason: 'the sources changed since the build' });
    }
    // A production image carries the build without the sources.
    expect(chooseEntry(await layout({}, build)).kind).toBe('dist');
  });

  it('runs `letterpress worker` in its heap-bounded thread, but not its help', () => {
    expect(isWorkerCommand(['worker'])).toBe(true);
    expect(isWorkerCommand(['--json', 'worker'])).toBe(true);
    expect(isWorkerCommand(['worker', '--help'])).toBe(false);
    expect(isWorkerCommand(['digest', 'send', 'worker'])).toBe(false);
  });
});

describe('files the code reads at run time', () => {
  it('are all copied by the build (non-TypeScript files under src/, and emails/)', async () => {
    const sourceFiles = (await readdir(path.join(repoRoot, 'src'), { recursive: true })).filter((file) =>
      file.endsWith('.ts'),
    );
    const referenced: string[] = [];
    for (const file of sourceFiles) {
      const text = await readFile(path.join(repoRoot, 'src', file), 'utf8');
      const relative = [
        ...text.matchAll(/readLuaScript\(import\.meta\.url, '([^']+)'\)/g),
        ...text.matchAll(/new URL\('([^']+)', import\.meta\.url\)/g),
      ].map((match) => match[1] as string);
      for (const target of relative) referenced.push(path.join('src', path.dirname(file), target));
    }
    expect(referenced.length).toBeGreaterThan(10);
    for (const target of referenced) {
      expect(existsSync(path.join(repoRoot, target)), target).toBe(true);
      const isCopied =
        (target.startsWith(`src${path.sep}`) && !target.endsWith('.ts')) || target.startsWith(`emails${path.sep}`);
      expect(isCopied, `${target} is read at run time but the build does not copy it`).toBe(true);
    }
    const build = await readFile(path.join(repoRoot, 'scripts/build.js'), 'utf8');
    expect(build).toContain("copyAssets('src', (name) => !name.endsWith('.ts'))");
    expect(build).toContain("copyAssets('emails', () => true)");
  });
});

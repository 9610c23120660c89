/**
 * What a worker process loads: the delivery path only splices frozen bytes, so image processing (sharp) and the
 * privacy audit's parsers are never part of its static import graph; they load on first use where a digest is
 * frozen or sent. Read from the sources as written, following every static import from the worker entry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Static imports and re-exports of a module (type-only ones excluded; `await import()` is not static). */
function staticImports(source: string): string[] {
  const found: string[] = [];
  const pattern = /^\s*(?:import|export)\s+(?!type\b)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(pattern)) found.push(match[1] as string);
  return found;
}

/** Every package and every source file reached from the entries by static imports. */
function importGraph(entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of staticImports(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) {
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
        continue;
      }
      const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
      if (existsSync(target)) visit(target);
    }
  };
  for (const entry of entries) visit(resolve(root, entry));
  return { files, packages };
}

describe('the worker process', () => {
  it('never loads sharp or the privacy audit: delivery only splices what was frozen', () => {
    // `letterpress worker`: the CLI, then the app and the workers (each of the two loaded by the worker command).
    const { files, packages } = importGraph(['src/cli/main.ts', 'src/app.ts', 'workers/run-workers.ts']);
    const relative = [...files].map((file) => file.slice(root.length));
    expect(relative).toContain('src/mail/compose-message.ts');
    expect(packages).toContain('bullmq');
    for (const heavy of ['sharp', 'htmlparser2', 'postcss', 'postcss-value-parser'])
      expect(packages).not.toContain(heavy);
    expect(relative.filter((file) => /recompress-image|privacy\/(?:audit-digest|inspect-)/.test(file))).toEqual([]);
  });
});

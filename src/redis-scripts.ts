/**
 * Lua scripts: each lives in a `.lua` file beside the store that runs it (header: KEYS, ARGV, returns), read once
 * when the module loads. A line `--- @include "includes/name.lua"` (BullMQ's convention) is replaced by that file,
 * so helpers shared by several scripts are written once. The stores register them with `defineCommand`; ioredis
 * adds each as a method named after it on the connection (and on its pipelines), and `scriptCommand` looks one up.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis.js';

const INCLUDE = /^--- @include "([^"]+)"\s*$/gm;

/** Reads a Lua script relative to the calling module (`import.meta.url`), with its includes expanded. */
export function readLuaScript(moduleUrl: string, relativePath: string): string {
  const file = join(dirname(fileURLToPath(moduleUrl)), relativePath);
  return expandIncludes(file, new Set());
}

function expandIncludes(file: string, seen: Set<string>): string {
  if (seen.has(file)) throw new Error(`Lua include cycle at ${file}`);
  seen.add(file);
  return readFileSync(file, 'utf8').replace(INCLUDE, (_line, name: string) =>
    expandIncludes(join(dirname(file), name), new Set(seen)),
  );
}

/** A registered script, called with its KEYS then its ARGV (or, for a script without a fixed key count, the count first). */
export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The script `name` on a connection or pipeline, bound to it. Throws when the script was never registered on that
 * connection (a wiring mistake, not a runtime condition).
 */
export function scriptCommand(target: RedisClient | ChainableCommander, name: string): ScriptCall {
  const command = (target as unknown as Record<string, ScriptCall>)[name];
  if (typeof command !== 'function') throw new Error(`Lua command ${name} is not defined`);
  return command.bind(target);
}

/**
 * Calling the Lua scripts the stores register with `defineCommand`. ioredis adds each script as a method named after
 * it on the connection (and on its pipelines); this looks one up by name, so the stores need no casts of their own.
 */
import type { ChainableCommander, Redis } from 'ioredis';

/** A registered script, called with its KEYS then its ARGV (or, for a script without a fixed key count, the count first). */
export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The script `name` on a connection or pipeline, bound to it. Throws when the script was never registered on that
 * connection (a wiring mistake, not a runtime condition).
 */
export function scriptCommand(target: Redis | ChainableCommander, name: string): ScriptCall {
  const command = (target as unknown as Record<string, ScriptCall>)[name];
  if (typeof command !== 'function') throw new Error(`Lua command ${name} is not defined`);
  return command.bind(target);
}

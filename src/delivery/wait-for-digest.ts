/** Waiting for a digest to settle, for `digest send --wait`, the demo and tests. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Digest, DigestStatus } from '../digests/digest.js';
import { AppError } from '../errors.js';

/** Statuses after which nothing more happens without an editor: sent, cancelled, or paused (waiting for resume). */
const RESTING: ReadonlySet<DigestStatus> = new Set(['sent', 'cancelled', 'paused']);

/**
 * Polls the digest until it is sent, cancelled or paused, or the timeout passes; returns the digest as it then is
 * (so a caller sees `sending` on timeout). Throws `digest_not_found` when there is no such digest.
 */
export async function waitForDigestSettled(
  deps: { digests: { get(id: string): Promise<Digest | undefined> } },
  digestId: string,
  options: {
    timeoutMs: number;
    pollIntervalMs?: number;
    signal?: AbortSignal;
    /** Called with the digest at every poll (progress displays). */
    onProgress?: (digest: Digest) => void | Promise<void>;
  },
): Promise<Digest> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.pollIntervalMs ?? 100;
  for (;;) {
    const digest = await deps.digests.get(digestId);
    if (!digest) throw new AppError('digest_not_found', `no digest "${digestId}"`);
    await options.onProgress?.(digest);
    if (RESTING.has(digest.status) || Date.now() >= deadline || options.signal?.aborted) return digest;
    await sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}

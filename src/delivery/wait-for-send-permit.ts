/**
 * The send-rate limit as delivery sees it: before each message a lane asks the limiter every worker shares for a
 * permit and waits the time it is told (never spinning). The limiter itself (Redis, Lua) is wired in by the app.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The limiter's answer for one message. */
export interface SendPermit {
  /** True: the permit is reserved; send after `waitMs`. False: nothing reserved; ask again after `waitMs`. */
  isGranted: boolean;
  waitMs: number;
}

/** Messages per second shared by every worker on every host, overall and per recipient domain. */
export interface SendRateLimiter {
  /** Reserves the next permit for one message to `domain` ('' when unknown), or says when to ask again. */
  reserve(domain: string): Promise<SendPermit>;
}

/** The recipient domain of an address, lower-cased ('' when it has none). */
export function recipientDomain(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? '' : email.slice(at + 1).toLowerCase();
}

/**
 * Waits until the limiter grants a permit for one message to `domain`. Returns false when `signal` aborted first
 * (a reserved permit is then simply not used: the schedule loses one slot, never sends faster).
 */
export async function waitForSendPermit(
  limiter: SendRateLimiter,
  domain: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  for (;;) {
    if (signal?.aborted) return false;
    const permit = await limiter.reserve(domain);
    // Below a millisecond a timer cannot wait any shorter: sending at once is as close as it gets.
    if (permit.waitMs >= 1) {
      try {
        await sleep(Math.round(permit.waitMs), undefined, signal ? { signal } : undefined);
      } catch {
        return false;
      }
    }
    if (permit.isGranted) return !signal?.aborted;
  }
}

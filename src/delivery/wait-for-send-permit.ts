/**
 * The send-rate limit as delivery sees it: before each message a lane asks the limiter every worker shares for a
 * permit and waits the time it is told (never spinning). The limiter itself (Redis, Lua) is wired in by the app.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { domainToASCII } from 'node:url';

/** The limiter's answer for one message. */
export interface SendPermit {
  /** True: the permit is reserved; send after `waitMs`. False: nothing reserved; ask again after `waitMs`. */
  isGranted: boolean;
  waitMs: number;
  /** Names the permit when it is settled ('' for a permit no limit logged: settling it does nothing). */
  id: string;
}

/** Messages per second shared by every worker on every host, overall and per recipient domain. */
export interface SendRateLimiter {
  /** Reserves the next permit for one message to `domain` ('' when unknown), or says when to ask again. */
  reserve(domain: string): Promise<SendPermit>;
  /** Says the permit's message has been sent (the relay answered): the limit counts it from now. */
  settle(permitId: string): Promise<void>;
}

/**
 * How late a message may start after its permit's instant, in ms. The limiter holds every second to the rate as long
 * as a message reaches the relay within about 3/4 s of its permit's instant (see reserve-send-permit.lua); a lane
 * that wakes later (a descheduled process) or waits longer for a connection drops the permit and asks again (the
 * schedule loses a slot, never sends faster).
 */
export const LATE_PERMIT_TOLERANCE_MS = 150;

/** A granted permit whose instant has come. */
export interface HeldPermit {
  id: string;
  /** The permit's instant on this process's clock (`performance.now()`). */
  dueAt: number;
}

/** True when the permit's instant is too far past to send on it (see LATE_PERMIT_TOLERANCE_MS). */
export function isPermitLate(permit: HeldPermit, toleranceMs = LATE_PERMIT_TOLERANCE_MS): boolean {
  return performance.now() - permit.dueAt > toleranceMs;
}

/**
 * A domain name lower-cased, with letters beyond ASCII in their ASCII form (`bücher.example` →
 * `xn--bcher-kva.example`). A name holding a control character or a space is left as it is (the conversion would drop
 * them silently), for whoever checks it to refuse.
 */
export function asciiDomain(name: string): string {
  const lower = name.toLowerCase();
  let isAscii = true;
  for (let i = 0; i < lower.length; i += 1) {
    const code = lower.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return lower;
    if (code > 0x7f) isAscii = false;
  }
  return isAscii ? lower : domainToASCII(lower) || lower;
}

/** The recipient domain of an address as the relay sees it (see asciiDomain); '' when it has none. */
export function recipientDomain(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? '' : asciiDomain(email.slice(at + 1));
}

/**
 * Waits until the limiter grants a permit for one message to `domain` and its instant has come; returns the permit
 * (settle it once the message is sent), or undefined when `signal` aborted first (a reserved permit is then simply
 * not used).
 */
export async function waitForSendPermit(
  limiter: SendRateLimiter,
  domain: string,
  signal: AbortSignal | undefined,
  lateToleranceMs = LATE_PERMIT_TOLERANCE_MS,
): Promise<HeldPermit | undefined> {
  for (;;) {
    if (signal?.aborted) return undefined;
    const permit = await limiter.reserve(domain);
    const dueAt = performance.now() + permit.waitMs;
    // Below a millisecond a timer cannot wait any shorter: sending at once is as close as it gets.
    if (permit.waitMs >= 1) {
      try {
        await sleep(Math.round(permit.waitMs), undefined, signal ? { signal } : undefined);
      } catch {
        return undefined;
      }
    }
    if (signal?.aborted) return undefined;
    const held = { id: permit.id, dueAt };
    if (permit.isGranted && !isPermitLate(held, lateToleranceMs)) return held;
  }
}

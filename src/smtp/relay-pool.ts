/**
 * Several relays behind one mailer: each message goes to one usable relay, chosen by weight (smooth weighted
 * round-robin, so a 1:3 split is 1:3 over any few messages), through that relay's own pooled mailer.
 *
 * A relay that fails as a whole is set aside: at once when it refuses the session (greeting, EHLO, TLS, login, our
 * sender: `relay-refused`) or its session cannot be opened (refused, unreachable, timed out), and after
 * `setAsideAfter` relay-level failures in a row during transactions (dropped connections, 421, timeouts). It stays
 * aside for `setAsideMs`, doubled each time it fails again right after (up to `setAsideMaxMs`). When the period ends
 * it is on trial: it takes one message at a time until one gets an answer, which puts it back in full use.
 *
 * A message whose relay failed before the message was handed over (the session did not open, or refused us) is tried
 * at once on another usable relay; any other failure is the caller's to retry later (a transient reply, a connection
 * lost after the message was written: the relay may have accepted it), and that retry may go through another relay.
 * When no relay is usable, a message tries the one whose set-aside ends first, exactly as with a single relay: if it
 * still refuses the session the digest pauses with its reason; if it is unreachable the batch waits for it. A message
 * that ran out of relays reports a refusal when one of them refused it (the operator must act), else the last failure.
 */
import type { Logger } from '../logger.js';
import { classifySmtpReply, type SmtpReplyClass } from './classify-smtp-reply.js';
import type { ClosableMailer, SendResult } from './mailer.js';

/** One relay of the pool. */
export interface PooledRelay {
  /** `host:port`, never credentials. */
  label: string;
  /** Its share of the messages. */
  weight: number;
  mailer: ClosableMailer;
  /** Its open connections, when its mailer can tell. @defaultValue the messages it has in flight */
  connectionCount?: () => number;
  /** True when a failure of this relay's mailer certainly came before the message was handed over. */
  isUnsent?: (error: unknown) => boolean;
}

/** Options of the pool. */
export interface RelayPoolOptions {
  relays: PooledRelay[];
  /** First set-aside of a failing relay. */
  setAsideMs: number;
  /** Longest set-aside. */
  setAsideMaxMs: number;
  /** Relay-level failures in a row during transactions that set a relay aside. @defaultValue 3 */
  setAsideAfter?: number;
  /** @defaultValue Date.now */
  now?: () => number;
  logger?: Logger;
}

/** What the pool knows of one relay right now (the heartbeat reports it). */
export interface RelayStatus {
  relay: string;
  weight: number;
  /** Undefined when the mailer does not decide (a single relay: the send telemetry judges by its failures). */
  isSetAside?: boolean;
  /** Open connections (or messages in flight, when the relay's mailer cannot count its connections). */
  connections: number;
}

/** A mailer over several relays that says how each one is doing. */
export interface RelayPool extends ClosableMailer {
  relayStatus(): RelayStatus[];
}

interface RelayState {
  relay: PooledRelay;
  /** Smooth weighted round-robin's running weight. */
  current: number;
  inFlight: number;
  /** Epoch ms until which the relay is set aside; 0 when it never was. */
  setAsideUntil: number;
  /** Set-asides since its last answer (the backoff's exponent; above 0 after the period: on trial). */
  setAsides: number;
  /** Relay-level failures in a row during transactions. */
  unavailableStreak: number;
}

/** The relays' weights and health: which one takes the next message, and what a failure does to it. No I/O. */
class RelayRoster {
  readonly states: RelayState[];
  private readonly setAsideAfter: number;

  constructor(
    relays: readonly PooledRelay[],
    private readonly options: Pick<RelayPoolOptions, 'setAsideMs' | 'setAsideMaxMs' | 'logger' | 'setAsideAfter'>,
    private readonly now: () => number,
  ) {
    this.states = relays.map((relay) => ({
      relay,
      current: 0,
      inFlight: 0,
      setAsideUntil: 0,
      setAsides: 0,
      unavailableStreak: 0,
    }));
    this.setAsideAfter = options.setAsideAfter ?? 3;
  }

  /** The next relay by weight among the usable ones not tried yet; with none usable and none tried, the soonest back. */
  pick(tried: ReadonlySet<RelayState>): RelayState | undefined {
    const at = this.now();
    const candidates = this.states.filter((state) => !tried.has(state) && this.isUsable(state, at));
    if (candidates.length === 0) {
      if (tried.size > 0) return undefined;
      return this.states.reduce((soonest, state) => (state.setAsideUntil < soonest.setAsideUntil ? state : soonest));
    }
    let total = 0;
    let best: RelayState | undefined;
    for (const state of candidates) {
      state.current += state.relay.weight;
      total += state.relay.weight;
      if (!best || state.current > best.current) best = state;
    }
    (best as RelayState).current -= total;
    return best;
  }

  /** The relay answered (accepted, or refused one reader): it is there, and in full use again after a trial. */
  answered(state: RelayState): void {
    state.unavailableStreak = 0;
    if (state.setAsides > 0 && state.setAsideUntil <= this.now()) {
      state.setAsides = 0;
      this.options.logger?.info({ relay: state.relay.label }, 'relay back in use');
    }
  }

  /** Judges a failure of the relay; returns whether the message may go to another relay now. */
  failed(state: RelayState, reply: SmtpReplyClass, isUnsent: boolean): boolean {
    if (reply.kind === 'relay-refused' || (reply.isRelayUnavailable && isUnsent)) {
      this.setAside(state, reply.message);
      return true;
    }
    if (!reply.isRelayUnavailable) {
      this.answered(state);
      return false;
    }
    state.unavailableStreak += 1;
    // On trial, one failure is enough: the period was not long enough.
    if (state.unavailableStreak >= this.setAsideAfter || state.setAsides > 0) this.setAside(state, reply.message);
    return false;
  }

  status(): RelayStatus[] {
    const at = this.now();
    return this.states.map((state) => ({
      relay: state.relay.label,
      weight: state.relay.weight,
      isSetAside: state.setAsideUntil > at,
      connections: state.relay.connectionCount?.() ?? state.inFlight,
    }));
  }

  /** Set aside and not yet answered: one message at a time (its trial) once the period is over. */
  private isUsable(state: RelayState, at: number): boolean {
    return state.setAsideUntil <= at && !(state.setAsides > 0 && state.inFlight > 0);
  }

  private setAside(state: RelayState, reason: string): void {
    const at = this.now();
    // Messages that were already on their way fail together: one set-aside, not one per message.
    if (state.setAsideUntil > at) return;
    const { setAsideMs, setAsideMaxMs } = this.options;
    const forMs = Math.min(setAsideMaxMs, setAsideMs * 2 ** Math.min(state.setAsides, 30));
    state.setAsides += 1;
    state.setAsideUntil = at + forMs;
    state.unavailableStreak = 0;
    this.options.logger?.warn({ relay: state.relay.label, forMs, reason }, 'relay set aside');
  }
}

/** Creates the pool (see the module comment). Closing it closes every relay's mailer. */
export function createRelayPool(options: RelayPoolOptions): RelayPool {
  const roster = new RelayRoster(options.relays, options, options.now ?? Date.now);
  return {
    async send(message): Promise<SendResult> {
      const tried = new Set<RelayState>();
      // A refusal outweighs an unreachable relay in what the caller hears: it pauses the digest for the operator,
      // where an unreachable relay would only make it wait for a relay that refuses us anyway.
      let refusal: unknown;
      let lastError: unknown;
      for (;;) {
        const state = roster.pick(tried);
        if (!state) throw refusal ?? lastError;
        tried.add(state);
        state.inFlight += 1;
        try {
          const result = await state.relay.mailer.send(message);
          roster.answered(state);
          return result;
        } catch (error) {
          const reply = classifySmtpReply(error);
          lastError = nameRelay(error, state.relay.label);
          if (reply.kind === 'relay-refused') refusal ??= lastError;
          if (!roster.failed(state, reply, state.relay.isUnsent?.(error) ?? false)) throw lastError;
        } finally {
          state.inFlight -= 1;
        }
      }
    },
    relayStatus: () => roster.status(),
    async close() {
      await Promise.all(roster.states.map((state) => state.relay.mailer.close()));
    },
  };
}

/**
 * The error with the relay's `host:port` in front of its message (an operator reading a pause reason must know which
 * relay said it), its code, reply and command kept so `classifySmtpReply` reads it as before.
 */
function nameRelay(error: unknown, label: string): unknown {
  if (!(error instanceof Error)) return error;
  const named = new Error(`relay ${label}: ${error.message}`);
  for (const key of ['code', 'responseCode', 'response', 'command', 'originalCode'] as const) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== undefined) Object.assign(named, { [key]: value });
  }
  return named;
}

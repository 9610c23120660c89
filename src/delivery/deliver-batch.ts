/**
 * Delivery of one id range of a digest: read the range's ledger in one round trip, fetch the pending readers'
 * addresses in one more, then send with a few messages in flight. Right before each send an O(1) check makes sure
 * the digest is still sending, the reader is still subscribed, nobody recorded them yet and this run still holds the
 * range's lease; right after each SMTP reply the outcome is recorded before the next recipient is taken. Re-running a
 * range is always safe, and two runs of one range at once send at most the older run's messages in flight twice.
 */
import { randomUUID } from 'node:crypto';
import type { Digest, DigestStatus } from '../digests/digest.js';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { classifySmtpReply, type SmtpReplyClass } from '../smtp/classify-smtp-reply.js';
import type {
  DeliveryOutcome,
  LedgerRange,
  RangeLease,
  RecipientCheck,
  RecordOutcomeInput,
  RecordOutcomeResult,
} from './delivery-ledger.js';
import { isBitSet } from './delivery-ledger.js';
import type { DeliverJob } from '../queue/job-definitions.js';
import type { Mailer } from '../smtp/mailer.js';

/** A pre-built message for one digest: per recipient it only splices a few values into frozen bytes. */
export interface MessageTemplate {
  render(
    recipient: { id: number; email: string },
    now: Date,
  ): { raw: Buffer; chunks?: readonly Buffer[]; envelope: { from: string; to: string }; messageId: string };
}

/** The ledger operations a delivery batch needs. */
export interface DeliverBatchLedger {
  readRange(digestId: string, newsletterId: string, fromId: number, toId: number): Promise<LedgerRange>;
  getStatus(digestId: string): Promise<DigestStatus | undefined>;
  checkRecipient(
    digestId: string,
    newsletterId: string,
    subscriberId: number,
    lease: RangeLease,
  ): Promise<RecipientCheck>;
  takeLease(digestId: string, lease: RangeLease, ttlSeconds: number): Promise<void>;
  releaseLease(digestId: string, lease: RangeLease): Promise<void>;
  recordOutcome(input: RecordOutcomeInput): Promise<RecordOutcomeResult>;
}

/** What a delivery batch needs. */
export interface DeliverBatchDeps {
  digests: { get(id: string): Promise<Digest | undefined> };
  /** The digest's prepared message, built once per digest and process (see createMessageTemplateCache). */
  templates: { get(digest: Digest): Promise<MessageTemplate> };
  ledger: DeliverBatchLedger;
  subscribers: {
    getEmails(ids: number[]): Promise<Map<number, string>>;
    suppress(email: string, reason: string): Promise<unknown>;
  };
  mailer: Mailer;
  clock: () => Date;
  logger: Logger;
  /** Messages in flight at once; match the SMTP pool size. */
  sendConcurrency: number;
  /**
   * Shared by every batch of the process, one slot per mailer connection, taken before a recipient's last check
   * and given back when the relay has answered: a checked message never waits for a connection, so a reader who
   * leaves during that wait is not sent to. @defaultValue none (each batch is limited by sendConcurrency only)
   */
  sendSlots?: SendSlots;
  /** Consecutive non-mailbox permanent refusals that pause the digest. */
  pauseAfterPermanentFailures: number;
  /** First delay when the relay is unavailable; doubles per deferral in a row. @defaultValue 1000 */
  relayRetryBaseMs?: number;
  /** Longest delay while the relay is unavailable. @defaultValue 60000 */
  relayRetryMaxMs?: number;
  /** How long a batch of a paused digest waits before looking again (resume wakes it at once). @defaultValue 30000 */
  pausedRecheckMs?: number;
  /** Expiry of a range's lease, should its runner never release it (a batch takes far less). @defaultValue 86400 */
  leaseTtlSeconds?: number;
}

/** Per-run options from the job runner. */
export interface DeliverBatchOptions {
  /** Aborted when the worker shuts down (or loses the job): stop taking recipients, hand the rest back. */
  signal?: AbortSignal;
  /** This run's lease token on the range. @defaultValue a random UUID */
  runnerToken?: string;
  /** The job has no attempt left: recipients still refused transiently are recorded as failed. @defaultValue false */
  isFinalAttempt?: boolean;
}

/** Counts of what this run recorded. */
export interface BatchCounts {
  delivered: number;
  failed: number;
  skipped: number;
}

/** How a run ended. */
export type DeliverBatchResult =
  | {
      kind: 'done';
      /** Why nothing (more) was sent, when not because everyone was handled. */
      note?: 'cancelled' | 'digest-missing' | 'digest-sent';
      counts: BatchCounts;
    }
  | {
      /**
       * Hand the job back for `delayMs` without spending an attempt. `lease-lost`: another runner took the range
       * over, so this run stopped (its job is normally no longer this worker's, and handing it back then fails).
       */
      kind: 'deferred';
      delayMs: number;
      reason: 'relay-unavailable' | 'paused' | 'shutting-down' | 'lease-lost';
      /** The payload's `deferrals` for the next run. */
      deferrals: number;
      message: string;
      counts: BatchCounts;
    };

/** Messages between their last check and the relay's answer, across every batch of one process. */
export interface SendSlots {
  /** Waits for a free slot; the returned function frees it (calling it again does nothing). */
  acquire(): Promise<() => void>;
}

/** First-come, first-served send slots: at most `count` held at once. */
export function createSendSlots(count: number): SendSlots {
  let free = Math.max(1, count);
  const waiting: (() => void)[] = [];
  const grant = (): (() => void) => {
    let isFreed = false;
    return () => {
      if (isFreed) return;
      isFreed = true;
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    };
  };
  return {
    acquire() {
      if (free > 0) {
        free -= 1;
        return Promise.resolve(grant());
      }
      return new Promise((resolve) => waiting.push(() => resolve(grant())));
    },
  };
}

/** Transient failures of the connection itself in a row after which the batch stops taking recipients. */
export const RELAY_UNAVAILABLE_STREAK = 3;

type StopReason = 'paused' | 'cancelled' | 'digest-sent' | 'relay-unavailable' | 'shutting-down' | 'lease-lost';

const DEFAULT_LEASE_TTL_SECONDS = 24 * 3600;

/**
 * Delivers one range (see the module comment). Returns `done`, or `deferred` (relay unavailable, digest paused,
 * worker shutting down, range taken over: the job is handed back without spending an attempt). Throws
 * `delivery_incomplete` when some recipients got a transient refusal, so the job is retried with backoff; settled
 * recipients are never sent twice.
 *
 * The run first takes the range's lease (the newest runner wins) and every recipient check also checks that the
 * lease is still its own: should BullMQ ever run the same range twice at once (a worker paused past its job lock,
 * whose job was handed to another worker), the older run stops after the messages it already had in flight.
 */
export async function deliverBatch(
  deps: DeliverBatchDeps,
  payload: DeliverJob,
  options: DeliverBatchOptions = {},
): Promise<DeliverBatchResult> {
  const lease: RangeLease = { fromId: payload.fromId, token: options.runnerToken ?? randomUUID() };
  await deps.ledger.takeLease(payload.digestId, lease, deps.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS);
  try {
    return await deliverRange(deps, payload, options, lease);
  } finally {
    await deps.ledger.releaseLease(payload.digestId, lease).catch((error: unknown) => {
      // Harmless: the next runner takes the range over anyway, and the lease expires on its own.
      deps.logger.warn({ err: (error as Error).message }, 'could not release the range lease');
    });
  }
}

async function deliverRange(
  deps: DeliverBatchDeps,
  payload: DeliverJob,
  options: DeliverBatchOptions,
  lease: RangeLease,
): Promise<DeliverBatchResult> {
  const counts: BatchCounts = { delivered: 0, failed: 0, skipped: 0 };
  const logger = deps.logger;
  const digest = await deps.digests.get(payload.digestId);
  if (!digest) {
    logger.warn('digest no longer exists: nothing to deliver');
    return { kind: 'done', note: 'digest-missing', counts };
  }
  const newsletterId = digest.newsletterId;
  const range = await deps.ledger.readRange(digest.id, newsletterId, payload.fromId, payload.toId);
  const early = stopFor(range.status);
  if (early) return finishStopped(deps, payload, early, counts, undefined);

  const record = async (
    subscriberId: number,
    outcome: DeliveryOutcome,
    extra: Partial<Pick<RecordOutcomeInput, 'reason' | 'countsTowardsPause' | 'replyClass'>> = {},
  ) => {
    const result = await deps.ledger.recordOutcome({
      digestId: digest.id,
      newsletterId,
      subscriberId,
      outcome,
      pauseThreshold: deps.pauseAfterPermanentFailures,
      now: deps.clock(),
      ...extra,
    });
    if (result.isRecorded) counts[outcome] += 1;
    return result;
  };

  // Pending: a recipient with no outcome yet. Those who left before the batch started are recorded as skipped.
  const pending: number[] = [];
  const left: number[] = [];
  for (let id = payload.fromId; id <= payload.toId; id += 1) {
    const byteIndex = (id >> 3) - range.firstByte;
    if ((range.recipients[byteIndex] ?? 0) === 0) {
      id = (((id >> 3) + 1) << 3) - 1; // skip the rest of an empty byte
      continue;
    }
    if (!isBitSet(range.recipients, range.firstByte, id)) continue;
    if (
      isBitSet(range.sent, range.firstByte, id) ||
      isBitSet(range.failed, range.firstByte, id) ||
      isBitSet(range.skipped, range.firstByte, id)
    ) {
      continue;
    }
    (isBitSet(range.active, range.firstByte, id) ? pending : left).push(id);
  }
  for (const id of left) await record(id, 'skipped');
  if (pending.length === 0) return { kind: 'done', counts };

  const emails = await deps.subscribers.getEmails(pending);
  const template = await deps.templates.get(digest);

  let stop: StopReason | undefined;
  let next = 0;
  let successes = 0;
  let unavailableStreak = 0;
  let lastTransient: SmtpReplyClass | undefined;
  const transient = new Map<number, SmtpReplyClass>();

  const sendOne = async (id: number): Promise<void> => {
    const free = deps.sendSlots ? await deps.sendSlots.acquire() : () => {};
    try {
      // Waiting for a slot takes time: the batch may have been told to stop meanwhile (the id stays pending).
      if (options.signal?.aborted) stop ??= 'shutting-down';
      if (stop === undefined) await checkAndSend(id, free);
    } finally {
      free();
    }
  };

  const checkAndSend = async (id: number, freeSlot: () => void): Promise<void> => {
    const check = await deps.ledger.checkRecipient(digest.id, newsletterId, id, lease);
    const stopReason = check.isLeaseHeld ? stopFor(check.status) : 'lease-lost';
    if (stopReason) {
      stop ??= stopReason;
      return;
    }
    if (check.isSettled) return;
    const email = emails.get(id);
    if (!check.isActive || email === undefined) {
      await record(id, 'skipped');
      return;
    }
    let message: ReturnType<MessageTemplate['render']>;
    try {
      message = template.render({ id, email }, deps.clock());
    } catch (error) {
      // A stored address or link that cannot be written into a message fails that reader alone, with the reason;
      // any other error is a fault of the process and fails the batch (it is retried).
      if (!isAppError(error, 'input_invalid')) throw error;
      freeSlot();
      await record(id, 'failed', { reason: `the message cannot be written for this reader: ${error.message}` });
      logger.warn({ subscriberId: id, reason: error.message }, 'message cannot be written for a reader');
      return;
    }
    let reply: SmtpReplyClass;
    try {
      // The message itself, not a copy of its fields: reading `raw` would join the chunks a mailer can send as they are.
      reply = classifySmtpReply(await deps.mailer.send(message));
    } catch (error) {
      reply = classifySmtpReply(error);
    }
    freeSlot();
    switch (reply.kind) {
      case 'ok':
        successes += 1;
        unavailableStreak = 0;
        await record(id, 'delivered', { replyClass: reply.kind });
        return;
      case 'permanent-mailbox':
        await record(id, 'failed', { reason: reply.message, replyClass: reply.kind });
        await deps.subscribers.suppress(email, reply.message);
        return;
      case 'permanent-other': {
        const result = await record(id, 'failed', {
          reason: reply.message,
          countsTowardsPause: true,
          replyClass: reply.kind,
        });
        if (result.status === 'paused') stop ??= 'paused';
        return;
      }
      case 'transient':
        transient.set(id, reply);
        lastTransient = reply;
        if (reply.isRelayUnavailable) {
          unavailableStreak += 1;
          if (unavailableStreak >= RELAY_UNAVAILABLE_STREAK) stop ??= 'relay-unavailable';
        } else {
          unavailableStreak = 0;
        }
        logger.debug({ subscriberId: id, code: reply.code, enhancedCode: reply.enhancedCode }, 'transient refusal');
        return;
    }
  };

  const lane = async (): Promise<void> => {
    while (stop === undefined) {
      if (options.signal?.aborted) {
        stop = 'shutting-down';
        return;
      }
      const id = pending[next];
      if (id === undefined) return;
      next += 1;
      await sendOne(id);
    }
  };
  // All lanes finish their in-flight message before the batch returns, even when one lane fails.
  const lanes = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(deps.sendConcurrency, pending.length)) }, () =>
      lane().catch((error: unknown) => {
        stop ??= 'shutting-down';
        throw error;
      }),
    ),
  );
  const failedLane = lanes.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
  if (failedLane) throw failedLane.reason;

  if (stop !== undefined && stop !== 'relay-unavailable') {
    if (stop === 'paused') {
      // A resume may have come while the last messages were in flight: then carry on at once.
      if ((await deps.ledger.getStatus(digest.id)) === 'sending') {
        const rest = await deliverRange(deps, payload, options, lease);
        return addCounts(rest, counts);
      }
    }
    return finishStopped(deps, payload, stop, counts, lastTransient);
  }

  if (transient.size === 0) {
    logger.info({ ...counts, fromId: payload.fromId, toId: payload.toId }, 'delivery batch done');
    return { kind: 'done', counts };
  }
  const isRelayUnavailable =
    stop === 'relay-unavailable' || (successes === 0 && [...transient.values()].every((r) => r.isRelayUnavailable));
  const last = lastTransient?.message ?? 'transient failure';
  if (isRelayUnavailable) {
    // A relay that worked earlier in this run went down now: the delays start again from the first step.
    const streakPayload = successes > 0 ? { ...payload, deferrals: 0 } : payload;
    return finishStopped(deps, streakPayload, 'relay-unavailable', counts, lastTransient);
  }

  if (options.isFinalAttempt) {
    for (const [id, reply] of transient) {
      await record(id, 'failed', {
        reason: `still refused after the last attempt: ${reply.message}`,
        replyClass: reply.kind,
      });
    }
    logger.warn({ ...counts, gaveUp: transient.size, last }, 'delivery batch gave up on transient refusals');
    return { kind: 'done', counts };
  }
  logger.warn({ ...counts, transient: transient.size, last }, 'delivery batch will retry transient refusals');
  throw new AppError(
    'delivery_incomplete',
    `${transient.size} recipient(s) got a transient refusal (last: ${last}); the batch is retried`,
    { counts, transient: transient.size },
  );
}

function stopFor(status: DigestStatus | undefined): StopReason | undefined {
  switch (status) {
    case 'sending':
      return undefined;
    case 'paused':
      return 'paused';
    case 'sent':
      return 'digest-sent';
    case 'cancelled':
      return 'cancelled';
    case 'ready':
    case undefined:
      // The digest vanished (reset) or was never sent: nothing may go out for it.
      return 'cancelled';
  }
}

function finishStopped(
  deps: DeliverBatchDeps,
  payload: DeliverJob,
  stop: StopReason,
  counts: BatchCounts,
  lastTransient: SmtpReplyClass | undefined,
): DeliverBatchResult {
  switch (stop) {
    case 'cancelled':
      // Chosen: recipients not yet reached stay unrecorded (neither sent nor skipped); the digest reports them as
      // never sent, and a cancelled digest cannot be sent again.
      return { kind: 'done', note: 'cancelled', counts };
    case 'digest-sent':
      return { kind: 'done', note: 'digest-sent', counts };
    case 'paused':
      return {
        kind: 'deferred',
        reason: 'paused',
        delayMs: deps.pausedRecheckMs ?? 30_000,
        deferrals: payload.deferrals,
        message: 'the digest is paused',
        counts,
      };
    case 'shutting-down':
      return {
        kind: 'deferred',
        reason: 'shutting-down',
        delayMs: 0,
        deferrals: payload.deferrals,
        message: 'worker shutting down',
        counts,
      };
    case 'lease-lost':
      deps.logger.warn({ fromId: payload.fromId }, 'another runner took this range over: stopped');
      return {
        kind: 'deferred',
        reason: 'lease-lost',
        delayMs: 0,
        deferrals: payload.deferrals,
        message: 'another runner took this range over',
        counts,
      };
    case 'relay-unavailable': {
      const base = deps.relayRetryBaseMs ?? 1_000;
      const max = deps.relayRetryMaxMs ?? 60_000;
      const delayMs = Math.min(max, base * 2 ** Math.min(payload.deferrals, 20));
      deps.logger.warn(
        { delayMs, deferrals: payload.deferrals + 1, last: lastTransient?.message },
        'relay unavailable: batch handed back',
      );
      return {
        kind: 'deferred',
        reason: 'relay-unavailable',
        delayMs,
        deferrals: payload.deferrals + 1,
        message: lastTransient?.message ?? 'relay unavailable',
        counts,
      };
    }
  }
}

function addCounts(result: DeliverBatchResult, earlier: BatchCounts): DeliverBatchResult {
  const counts = {
    delivered: result.counts.delivered + earlier.delivered,
    failed: result.counts.failed + earlier.failed,
    skipped: result.counts.skipped + earlier.skipped,
  };
  return { ...result, counts };
}

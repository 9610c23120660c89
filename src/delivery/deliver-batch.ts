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
  DigestTransition,
  LedgerRange,
  RangeLease,
  RecipientCheck,
  RecordOutcomeInput,
  RecordOutcomeResult,
} from './delivery-ledger.js';
import { isBitSet } from './delivery-ledger.js';
import type { DeliverJob } from '../queue/job-definitions.js';
import type { Mailer } from '../smtp/mailer.js';
import type { SendSlots } from './send-slots.js';
import {
  isPermitLate,
  recipientDomain,
  waitForSendPermit,
  type HeldPermit,
  type SendRateLimiter,
} from './wait-for-send-permit.js';

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
  /** A guarded status change: here, pausing the digest when the relay refuses the session. */
  transition(
    digestId: string,
    newsletterId: string,
    change: DigestTransition,
    now: Date,
  ): Promise<{ previous: DigestStatus | undefined }>;
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
  /**
   * The send-rate limit every worker shares: each message waits for its permit before taking its send slot and its
   * last check, so a reader who leaves during that wait is not sent to. @defaultValue none (unlimited)
   */
  sendRate?: SendRateLimiter;
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

/** Why a run handed its job back. */
export type DeferReason = 'relay-unavailable' | 'paused' | 'shutting-down' | 'lease-lost';

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
      reason: DeferReason;
      /** The payload's `deferrals` for the next run. */
      deferrals: number;
      message: string;
      counts: BatchCounts;
    };

/** Transient failures of the connection itself in a row after which the batch stops taking recipients. */
export const RELAY_UNAVAILABLE_STREAK = 3;

type StopReason =
  'paused' | 'cancelled' | 'digest-sent' | 'relay-unavailable' | 'relay-refused' | 'shutting-down' | 'lease-lost';

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

/** What one run over a range knows; its lanes share it. */
interface RangeRun {
  deps: DeliverBatchDeps;
  payload: DeliverJob;
  options: DeliverBatchOptions;
  lease: RangeLease;
  digest: Digest;
  counts: BatchCounts;
  /** Why the lanes stop taking recipients, once one of them decided it. */
  stop: StopReason | undefined;
  successes: number;
  /** Failures of the connection itself in a row. */
  unavailableStreak: number;
  lastTransient: SmtpReplyClass | undefined;
  /** Recipients refused for now, to be retried. */
  transient: Map<number, SmtpReplyClass>;
  /** The relay's refusal of the session, when one stopped the run. */
  relayRefusal: SmtpReplyClass | undefined;
}

/** What the lanes send with. */
interface Sending {
  emails: Map<number, string>;
  template: MessageTemplate;
}

async function deliverRange(
  deps: DeliverBatchDeps,
  payload: DeliverJob,
  options: DeliverBatchOptions,
  lease: RangeLease,
): Promise<DeliverBatchResult> {
  const counts: BatchCounts = { delivered: 0, failed: 0, skipped: 0 };
  const digest = await deps.digests.get(payload.digestId);
  if (!digest) {
    deps.logger.warn('digest no longer exists: nothing to deliver');
    return { kind: 'done', note: 'digest-missing', counts };
  }
  const range = await deps.ledger.readRange(digest.id, digest.newsletterId, payload.fromId, payload.toId);
  const early = stopFor(range.status);
  if (early) return finishStopped(deps, payload, early, counts, undefined);

  const run: RangeRun = {
    ...{ deps, payload, options, lease, digest, counts },
    ...{ stop: undefined, successes: 0, unavailableStreak: 0, lastTransient: undefined },
    ...{ transient: new Map(), relayRefusal: undefined },
  };
  const { pending, left } = unsettledRecipients(range, payload.fromId, payload.toId);
  for (const id of left) await recordOutcome(run, id, 'skipped');
  if (pending.length === 0) return { kind: 'done', counts };

  const sending: Sending = {
    emails: await deps.subscribers.getEmails(pending),
    template: await deps.templates.get(digest),
  };
  await runLanes(run, pending, sending);
  return finishRun(run);
}

/**
 * The range's recipients with no outcome yet: `pending` still take the newsletter, `left` left before the batch
 * started (they are recorded as skipped).
 */
function unsettledRecipients(range: LedgerRange, fromId: number, toId: number): { pending: number[]; left: number[] } {
  const pending: number[] = [];
  const left: number[] = [];
  for (let id = fromId; id <= toId; id += 1) {
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
  return { pending, left };
}

/** Records one outcome in the ledger (at most once per recipient) and counts it when it was this run's. */
async function recordOutcome(
  run: RangeRun,
  subscriberId: number,
  outcome: DeliveryOutcome,
  extra: Partial<Pick<RecordOutcomeInput, 'reason' | 'countsTowardsPause' | 'replyClass'>> = {},
): Promise<RecordOutcomeResult> {
  const result = await run.deps.ledger.recordOutcome({
    digestId: run.digest.id,
    newsletterId: run.digest.newsletterId,
    subscriberId,
    outcome,
    pauseThreshold: run.deps.pauseAfterPermanentFailures,
    now: run.deps.clock(),
    ...extra,
  });
  if (result.isRecorded) run.counts[outcome] += 1;
  return result;
}

/** Sends to the pending recipients with `sendConcurrency` lanes; every lane finishes its message in flight. */
async function runLanes(run: RangeRun, pending: number[], sending: Sending): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (run.stop === undefined) {
      if (run.options.signal?.aborted) {
        run.stop = 'shutting-down';
        return;
      }
      const id = pending[next];
      if (id === undefined) return;
      next += 1;
      await sendOne(run, id, sending);
    }
  };
  const lanes = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(run.deps.sendConcurrency, pending.length)) }, () =>
      lane().catch((error: unknown) => {
        run.stop ??= 'shutting-down';
        throw error;
      }),
    ),
  );
  const failedLane = lanes.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failedLane) throw failedLane.reason;
}

/**
 * Waits for the send-rate permit, takes a send slot, then checks and sends to one recipient (unless the batch was
 * told to stop meanwhile). The permit comes first and holds no connection: the lanes of every batch wait for their
 * instants in the shared schedule at once, so the pool is not idle while they wait.
 */
async function sendOne(run: RangeRun, id: number, sending: Sending): Promise<void> {
  for (;;) {
    const permit = await waitForPermit(run, id, sending);
    if (run.stop !== undefined) return;
    const free = run.deps.sendSlots ? await run.deps.sendSlots.acquire() : () => {};
    try {
      // Waiting for a slot takes time: the batch may have been told to stop meanwhile (the id stays pending).
      if (run.options.signal?.aborted) run.stop ??= 'shutting-down';
      if (run.stop !== undefined) return;
      // A logged permit whose instant passed long ago while waiting for a connection is dropped (see isPermitLate);
      // one no overall rate logged (no limit, or a domain's limit alone) is used whenever a connection frees up.
      if (permit && permit.id !== '' && isPermitLate(permit)) continue;
      await checkAndSend(run, id, sending, free, permit?.id);
      return;
    } finally {
      free();
    }
  }
}

/**
 * Waits for the send-rate permit of one message (when a limiter is wired in) and returns its id; a shutdown meanwhile
 * stops the run (the id stays pending).
 */
async function waitForPermit(run: RangeRun, id: number, sending: Sending): Promise<HeldPermit | undefined> {
  const limiter = run.deps.sendRate;
  if (!limiter) return undefined;
  const domain = recipientDomain(sending.emails.get(id) ?? '');
  const permit = await waitForSendPermit(limiter, domain, run.options.signal);
  if (permit === undefined) run.stop ??= 'shutting-down';
  return permit;
}

/** Tells the limiter a message was sent; a failure only makes the limit count it from its instant instead. */
function settlePermit(run: RangeRun, permit: string | undefined): void {
  if (permit === undefined || !run.deps.sendRate) return;
  run.deps.sendRate.settle(permit).catch((error: unknown) => {
    run.deps.logger.debug({ err: (error as Error).message }, 'could not settle a send permit');
  });
}

/** The O(1) check right before the send, the send, and what the reply means for the reader and the run. */
async function checkAndSend(
  run: RangeRun,
  id: number,
  sending: Sending,
  freeSlot: () => void,
  permit: string | undefined,
): Promise<void> {
  const { deps, digest, lease } = run;
  const check = await deps.ledger.checkRecipient(digest.id, digest.newsletterId, id, lease);
  const stopReason = check.isLeaseHeld ? stopFor(check.status) : 'lease-lost';
  if (stopReason) {
    run.stop ??= stopReason;
    return;
  }
  if (check.isSettled) return;
  const email = sending.emails.get(id);
  if (!check.isActive || email === undefined) {
    await recordOutcome(run, id, 'skipped');
    return;
  }
  const message = renderFor(run, id, email, sending.template);
  if (!message.ok) {
    freeSlot();
    await recordOutcome(run, id, 'failed', {
      reason: `the message cannot be written for this reader: ${message.reason}`,
    });
    deps.logger.warn({ subscriberId: id, reason: message.reason }, 'message cannot be written for a reader');
    return;
  }
  let reply: SmtpReplyClass;
  try {
    // The message itself, not a copy of its fields: reading `raw` would join the chunks a mailer can send as they are.
    reply = classifySmtpReply(await deps.mailer.send(message.value));
  } catch (error) {
    reply = classifySmtpReply(error);
  }
  settlePermit(run, permit);
  freeSlot();
  await applyReply(run, id, email, reply);
}

/**
 * The reader's copy, or why it cannot be written: a stored address or link a message cannot carry fails that reader
 * alone; any other error is a fault of the process and fails the batch (it is retried).
 */
function renderFor(
  run: RangeRun,
  id: number,
  email: string,
  template: MessageTemplate,
): { ok: true; value: ReturnType<MessageTemplate['render']> } | { ok: false; reason: string } {
  try {
    return { ok: true, value: template.render({ id, email }, run.deps.clock()) };
  } catch (error) {
    if (!isAppError(error, 'input_invalid')) throw error;
    return { ok: false, reason: error.message };
  }
}

/** Records what the relay's answer means for the reader, and stops the run when it means the run cannot go on. */
async function applyReply(run: RangeRun, id: number, email: string, reply: SmtpReplyClass): Promise<void> {
  switch (reply.kind) {
    case 'ok':
      run.successes += 1;
      run.unavailableStreak = 0;
      await recordOutcome(run, id, 'delivered', { replyClass: reply.kind });
      return;
    case 'permanent-mailbox':
      await recordOutcome(run, id, 'failed', { reason: reply.message, replyClass: reply.kind });
      await run.deps.subscribers.suppress(email, reply.message);
      return;
    case 'permanent-other': {
      const result = await recordOutcome(run, id, 'failed', {
        reason: reply.message,
        countsTowardsPause: true,
        replyClass: reply.kind,
      });
      if (result.status === 'paused') run.stop ??= 'paused';
      return;
    }
    case 'relay-refused':
      // The relay refused the session, not this reader: they stay pending, and the digest pauses (see finishRun).
      run.relayRefusal ??= reply;
      run.stop ??= 'relay-refused';
      return;
    case 'transient':
      run.transient.set(id, reply);
      run.lastTransient = reply;
      if (reply.isRelayUnavailable) {
        run.unavailableStreak += 1;
        if (run.unavailableStreak >= RELAY_UNAVAILABLE_STREAK) run.stop ??= 'relay-unavailable';
      } else {
        run.unavailableStreak = 0;
      }
      run.deps.logger.debug(
        { subscriberId: id, code: reply.code, enhancedCode: reply.enhancedCode },
        'transient refusal',
      );
      return;
  }
}

/** How a run ends once its lanes are done: stopped, done, handed back while the relay is away, or retried. */
async function finishRun(run: RangeRun): Promise<DeliverBatchResult> {
  const { deps, payload, counts } = run;
  if (run.stop === 'relay-refused') await pauseForRelayRefusal(run);
  if (run.stop !== undefined && run.stop !== 'relay-unavailable') {
    // A resume may have come while the last messages were in flight: then carry on at once.
    if (
      (run.stop === 'paused' || run.stop === 'relay-refused') &&
      (await deps.ledger.getStatus(run.digest.id)) === 'sending'
    ) {
      const rest = await deliverRange(deps, payload, run.options, run.lease);
      return addCounts(rest, counts);
    }
    return finishStopped(deps, payload, run.stop, counts, run.lastTransient);
  }
  if (run.transient.size === 0) {
    deps.logger.info({ ...counts, fromId: payload.fromId, toId: payload.toId }, 'delivery batch done');
    return { kind: 'done', counts };
  }
  const isRelayUnavailable =
    run.stop === 'relay-unavailable' ||
    (run.successes === 0 && [...run.transient.values()].every((reply) => reply.isRelayUnavailable));
  if (isRelayUnavailable) {
    // A relay that worked earlier in this run went down now: the delays start again from the first step.
    const streakPayload = run.successes > 0 ? { ...payload, deferrals: 0 } : payload;
    return finishStopped(deps, streakPayload, 'relay-unavailable', counts, run.lastTransient);
  }
  return finishTransients(run);
}

/**
 * Pauses the digest with the relay's reason (no reader is charged for it) and says so in the log: the operator fixes
 * the relay and runs `digest resume`, which sends to everyone still pending.
 */
async function pauseForRelayRefusal(run: RangeRun): Promise<void> {
  const refusal = run.relayRefusal;
  const reason = `the relay refused the session (no reader was charged): ${refusal?.message ?? 'unknown reason'}`;
  const { previous } = await run.deps.ledger.transition(
    run.digest.id,
    run.digest.newsletterId,
    { from: ['sending'], to: 'paused', pausedReason: reason },
    run.deps.clock(),
  );
  run.deps.logger.error(
    { code: refusal?.code, enhancedCode: refusal?.enhancedCode, reply: refusal?.message },
    'the relay refused the session: every reader of this batch stays pending',
  );
  if (previous === 'sending') {
    run.deps.logger.error({ reason }, 'digest paused: fix the relay, then run `letterpress digest resume`');
  }
}

/** Transient refusals left: retried with backoff, or failed for good on the job's last attempt. */
async function finishTransients(run: RangeRun): Promise<DeliverBatchResult> {
  const { deps, counts, transient } = run;
  const last = run.lastTransient?.message ?? 'transient failure';
  if (run.options.isFinalAttempt) {
    for (const [id, reply] of transient) {
      await recordOutcome(run, id, 'failed', {
        reason: `still refused after the last attempt: ${reply.message}`,
        replyClass: reply.kind,
      });
    }
    deps.logger.warn({ ...counts, gaveUp: transient.size, last }, 'delivery batch gave up on transient refusals');
    return { kind: 'done', counts };
  }
  deps.logger.warn({ ...counts, transient: transient.size, last }, 'delivery batch will retry transient refusals');
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

/** The result of a run that stopped before everyone was handled. */
function finishStopped(
  deps: DeliverBatchDeps,
  payload: DeliverJob,
  stop: StopReason,
  counts: BatchCounts,
  lastTransient: SmtpReplyClass | undefined,
): DeliverBatchResult {
  const deferred = (reason: DeferReason, delayMs: number, message: string, deferrals = payload.deferrals) =>
    ({ kind: 'deferred', reason, delayMs, deferrals, message, counts }) as const;
  switch (stop) {
    case 'cancelled':
      // Chosen: recipients not yet reached stay unrecorded (neither sent nor skipped); the digest reports them as
      // never sent, and a cancelled digest cannot be sent again.
      return { kind: 'done', note: 'cancelled', counts };
    case 'digest-sent':
      return { kind: 'done', note: 'digest-sent', counts };
    case 'paused':
    case 'relay-refused':
      return deferred('paused', deps.pausedRecheckMs ?? 30_000, 'the digest is paused');
    case 'shutting-down':
      return deferred('shutting-down', 0, 'worker shutting down');
    case 'lease-lost':
      deps.logger.warn({ fromId: payload.fromId }, 'another runner took this range over: stopped');
      return deferred('lease-lost', 0, 'another runner took this range over');
    case 'relay-unavailable': {
      const base = deps.relayRetryBaseMs ?? 1_000;
      const max = deps.relayRetryMaxMs ?? 60_000;
      const delayMs = Math.min(max, base * 2 ** Math.min(payload.deferrals, 20));
      deps.logger.warn(
        { delayMs, deferrals: payload.deferrals + 1, last: lastTransient?.message },
        'relay unavailable: batch handed back',
      );
      const message = lastTransient?.message ?? 'relay unavailable';
      return deferred('relay-unavailable', delayMs, message, payload.deferrals + 1);
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

/**
 * The delivery ledger on Redis: per digest, bitmaps indexed by subscriber id (the recipients snapshot and one bitmap
 * per outcome), the failure reasons, and the counters and status in the digest hash. Every state change is one Lua
 * script, so an outcome is recorded at most once and the digest becomes `sent` in the same step as its last outcome.
 * A pending recipient costs bits, not hash fields or jobs: a million readers take about 125 KB per bitmap.
 */
import { DIGEST_STATUSES, type DigestStatus } from '../digests/digest.js';
import { readLuaScript, scriptCommand, type ScriptCall } from '../redis-scripts.js';
import type { RedisKeys, RedisClient } from '../redis.js';
import type { DigestReceived } from '../subscribers/export-personal-data.js';
import { deliveryTotalsField, type DeliveryReplyClass } from './delivery-totals.js';

/** The outcome recorded for one recipient. */
export type DeliveryOutcome = 'delivered' | 'failed' | 'skipped';

/** A recipient's state right before a send. */
export interface RecipientCheck {
  /** The digest's status at that instant. */
  status: DigestStatus | undefined;
  /** Whether the subscriber still actively takes the newsletter. */
  isActive: boolean;
  /** Whether an outcome is already recorded for them. */
  isSettled: boolean;
  /** Whether the range's lease still holds the checking runner's token (false: another runner took the range over). */
  isLeaseHeld: boolean;
}

/** A runner's claim on one delivery range: the range's first id and the runner's own random token. */
export interface RangeLease {
  fromId: number;
  token: string;
}

/** The ledger bitmaps of one id range, read in one round trip. */
export interface LedgerRange {
  status: DigestStatus | undefined;
  /** Byte offset of the buffers: bit `id` is at byte `(id >> 3) - firstByte`. */
  firstByte: number;
  recipients: Buffer;
  sent: Buffer;
  failed: Buffer;
  skipped: Buffer;
  active: Buffer;
}

/** What `recordOutcome` needs to know besides the outcome. */
export interface RecordOutcomeInput {
  digestId: string;
  newsletterId: string;
  subscriberId: number;
  outcome: DeliveryOutcome;
  /** Stored for failed recipients (already free of addresses). */
  reason?: string;
  /** A non-mailbox permanent refusal: counts towards pausing the digest. A delivery resets the run. */
  countsTowardsPause?: boolean;
  /** Length of the run of permanent refusals that pauses the digest. */
  pauseThreshold: number;
  /** What the relay answered, for the delivery totals (metrics). @defaultValue 'none' */
  replyClass?: DeliveryReplyClass;
  now: Date;
}

/** The result of recording an outcome. */
export interface RecordOutcomeResult {
  /** False when an outcome was already recorded (or the id is not a recipient): nothing changed. */
  isRecorded: boolean;
  /** The digest status after the step (e.g. `sent` when this was the last outcome, `paused` after a run). */
  status: DigestStatus | undefined;
}

/** The ledger's scripts; each file starts with its KEYS, ARGV and return value. */
const RECORD_OUTCOME_LUA = readLuaScript(import.meta.url, 'lua/record-outcome.lua');
const CHECK_RECIPIENT_LUA = readLuaScript(import.meta.url, 'lua/check-recipient.lua');
const RELEASE_LEASE_LUA = readLuaScript(import.meta.url, 'lua/release-lease.lua');
const SNAPSHOT_LUA = readLuaScript(import.meta.url, 'lua/snapshot.lua');
const MARK_FANNED_OUT_LUA = readLuaScript(import.meta.url, 'lua/mark-fanned-out.lua');
const TRANSITION_LUA = readLuaScript(import.meta.url, 'lua/transition.lua');

/** A requested status change, applied only from the allowed statuses. */
export interface DigestTransition {
  from: DigestStatus[];
  to: DigestStatus;
  /** Digest field stamped with the current time, e.g. `sendRequestedAt`. */
  stamp?: 'sendRequestedAt';
  /** Clear `pausedReason` and the run of refusals (resume). */
  clearPause?: boolean;
  /** Set `pausedReason` (pause). */
  pausedReason?: string;
  /** Count a resume; the count names the resume's fan-out job. */
  countResume?: boolean;
  /** Apply only while this field holds this value (a scheduled send checks the digest's `scheduledFor`). */
  requireField?: { name: 'scheduledFor'; value: string };
}

/** The ledger of every digest under one prefix. */
export class RedisDeliveryLedger {
  /** Registers the ledger's scripts on the connection. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    redis.defineCommand('lpRecordOutcome', { numberOfKeys: 8, lua: RECORD_OUTCOME_LUA });
    redis.defineCommand('lpCheckRecipient', { numberOfKeys: 6, lua: CHECK_RECIPIENT_LUA });
    redis.defineCommand('lpReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE_LUA });
    redis.defineCommand('lpSnapshotRecipients', { numberOfKeys: 3, lua: SNAPSHOT_LUA });
    redis.defineCommand('lpMarkFannedOut', { numberOfKeys: 2, lua: MARK_FANNED_OUT_LUA });
    redis.defineCommand('lpTransitionDigest', { numberOfKeys: 2, lua: TRANSITION_LUA });
  }

  /** Applies a guarded status change; `previous` is undefined when the digest does not exist. */
  async transition(
    digestId: string,
    newsletterId: string,
    change: DigestTransition,
    now: Date,
  ): Promise<{ previous: DigestStatus | undefined; status: DigestStatus | undefined; resumeCount: number }> {
    const reply = (await this.script('lpTransitionDigest')(
      this.keys.digest(digestId),
      this.keys.newsletterLastSentAt(newsletterId),
      change.from.join(','),
      change.to,
      now.toISOString(),
      change.stamp ?? '',
      change.clearPause ? '1' : '',
      change.pausedReason ?? '',
      change.countResume ? '1' : '',
      change.requireField?.name ?? '',
      change.requireField?.value ?? '',
    )) as [string, string, number];
    return { previous: asStatus(reply[0]), status: asStatus(reply[1]), resumeCount: Number(reply[2]) };
  }

  /** Takes the recipients snapshot once (idempotent) and returns its size and the batch size of its ranges. */
  async snapshotRecipients(
    digestId: string,
    newsletterId: string,
    batchSize: number,
  ): Promise<{ recipients: number; batchSize: number }> {
    const [recipients, recordedBatchSize] = (await this.script('lpSnapshotRecipients')(
      this.keys.digest(digestId),
      this.keys.newsletterActive(newsletterId),
      this.keys.digestRecipients(digestId),
      batchSize,
    )) as [number, number];
    return { recipients, batchSize: recordedBatchSize };
  }

  /** The whole snapshot and outcome bitmaps of a digest (fan-out cuts ranges from them). */
  async readBitmaps(digestId: string): Promise<{ recipients: Buffer; sent: Buffer; failed: Buffer; skipped: Buffer }> {
    const [recipients, sent, failed, skipped] = await Promise.all([
      this.redis.getBuffer(this.keys.digestRecipients(digestId)),
      this.redis.getBuffer(this.keys.digestSent(digestId)),
      this.redis.getBuffer(this.keys.digestFailed(digestId)),
      this.redis.getBuffer(this.keys.digestSkipped(digestId)),
    ]);
    const empty = Buffer.alloc(0);
    return { recipients: recipients ?? empty, sent: sent ?? empty, failed: failed ?? empty, skipped: skipped ?? empty };
  }

  /** The batch size fan-out recorded for the digest (undefined before its first fan-out) and its resume count. */
  async readPlan(digestId: string): Promise<{ batchSize: number | undefined; resumeCount: number }> {
    const [batchSize, resumeCount] = await this.redis.hmget(this.keys.digest(digestId), 'batchSize', 'resumeCount');
    return {
      batchSize: batchSize === null ? undefined : Number(batchSize),
      resumeCount: resumeCount === null ? 0 : Number(resumeCount),
    };
  }

  /** Records fan-out as finished and settles the digest when nothing is pending; returns the status after. */
  async markFannedOut(digestId: string, newsletterId: string, now: Date): Promise<DigestStatus | undefined> {
    const status = await this.script('lpMarkFannedOut')(
      this.keys.digest(digestId),
      this.keys.newsletterLastSentAt(newsletterId),
      now.toISOString(),
    );
    return asStatus(String(status));
  }

  /** The ledger and active bitmaps of one id range plus the digest status, in one pipelined round trip. */
  async readRange(digestId: string, newsletterId: string, fromId: number, toId: number): Promise<LedgerRange> {
    const firstByte = fromId >> 3;
    const lastByte = toId >> 3;
    const pipeline = this.redis.pipeline();
    pipeline.hget(this.keys.digest(digestId), 'status');
    for (const key of [
      this.keys.digestRecipients(digestId),
      this.keys.digestSent(digestId),
      this.keys.digestFailed(digestId),
      this.keys.digestSkipped(digestId),
      this.keys.newsletterActive(newsletterId),
    ]) {
      pipeline.getrangeBuffer(key, firstByte, lastByte);
    }
    const results = (await pipeline.exec()) ?? [];
    const values = results.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const buffer = (value: unknown) => (Buffer.isBuffer(value) ? value : Buffer.alloc(0));
    return {
      status: asStatus(typeof values[0] === 'string' ? values[0] : ''),
      firstByte,
      recipients: buffer(values[1]),
      sent: buffer(values[2]),
      failed: buffer(values[3]),
      skipped: buffer(values[4]),
      active: buffer(values[5]),
    };
  }

  /** The digest's status, read from the ledger's own connection. */
  async getStatus(digestId: string): Promise<DigestStatus | undefined> {
    return asStatus((await this.redis.hget(this.keys.digest(digestId), 'status')) ?? '');
  }

  /** The O(1) check right before a send: digest status, still active, already settled, range lease still ours. */
  async checkRecipient(
    digestId: string,
    newsletterId: string,
    subscriberId: number,
    lease: RangeLease,
  ): Promise<RecipientCheck> {
    const [status, active, settled, held] = (await this.script('lpCheckRecipient')(
      this.keys.digest(digestId),
      this.keys.newsletterActive(newsletterId),
      this.keys.digestSent(digestId),
      this.keys.digestFailed(digestId),
      this.keys.digestSkipped(digestId),
      this.keys.digestLease(digestId, lease.fromId),
      subscriberId,
      lease.token,
    )) as [string, number, number, number];
    return { status: asStatus(status), isActive: active === 1, isSettled: settled === 1, isLeaseHeld: held === 1 };
  }

  /**
   * Makes this runner the owner of a delivery range, whoever held it before: BullMQ hands a job to a new worker only
   * when it believes the previous one gone, so the newest runner wins and an older one still running stops at its
   * next check. The lease expires after `ttlSeconds` in case nobody releases it.
   */
  async takeLease(digestId: string, lease: RangeLease, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.keys.digestLease(digestId, lease.fromId), lease.token, 'EX', ttlSeconds);
  }

  /** Gives a range's lease up if it is still this runner's (a newer runner's lease is left alone). */
  async releaseLease(digestId: string, lease: RangeLease): Promise<void> {
    await this.script('lpReleaseLease')(this.keys.digestLease(digestId, lease.fromId), lease.token);
  }

  /** Records one recipient's outcome at most once (see the script's header for every rule). */
  async recordOutcome(input: RecordOutcomeInput): Promise<RecordOutcomeResult> {
    const digestId = input.digestId;
    const [recorded, status] = (await this.script('lpRecordOutcome')(
      this.keys.digest(digestId),
      this.keys.digestRecipients(digestId),
      this.keys.digestSent(digestId),
      this.keys.digestFailed(digestId),
      this.keys.digestSkipped(digestId),
      this.keys.digestFailures(digestId),
      this.keys.newsletterLastSentAt(input.newsletterId),
      this.keys.deliveryTotals,
      input.subscriberId,
      input.outcome,
      input.reason ?? '',
      input.now.toISOString(),
      input.countsTowardsPause ? '1' : '',
      input.pauseThreshold,
      `${input.pauseThreshold} consecutive permanent refusals; last: ${input.reason ?? 'unknown'}`,
      deliveryTotalsField(input.outcome, input.replyClass ?? 'none'),
    )) as [number, string];
    return { isRecorded: recorded === 1, status: asStatus(status) };
  }

  /** Failed recipients of a digest with their reasons (subscriber ids, never addresses), at most `limit`. */
  async listFailures(digestId: string, limit = 100): Promise<{ subscriberId: number; reason: string }[]> {
    const failures: { subscriberId: number; reason: string }[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.digestFailures(digestId), cursor, 'COUNT', 500);
      cursor = next;
      for (let i = 0; i + 1 < flat.length && failures.length < limit; i += 2) {
        failures.push({ subscriberId: Number(flat[i]), reason: flat[i + 1] ?? '' });
      }
    } while (cursor !== '0' && failures.length < limit);
    return failures.sort((a, b) => a.subscriberId - b.subscriberId);
  }

  /**
   * Every digest that counted this subscriber among its recipients, oldest first, with what happened to their copy
   * (`pending` while the digest is still sending) and the failure reason when there is one.
   */
  async historyOf(subscriberId: number): Promise<DigestReceived[]> {
    const digestIds = await this.redis.zrange(this.keys.digestsByCreated, '0', '-1');
    const history: DigestReceived[] = [];
    for (let start = 0; start < digestIds.length; start += 200) {
      const page = digestIds.slice(start, start + 200);
      const pipeline = this.redis.pipeline();
      for (const id of page) {
        pipeline.hmget(this.keys.digest(id), 'newsletterId', 'subject', 'createdAt', 'status');
        pipeline.getbit(this.keys.digestRecipients(id), subscriberId);
        pipeline.getbit(this.keys.digestSent(id), subscriberId);
        pipeline.getbit(this.keys.digestFailed(id), subscriberId);
        pipeline.getbit(this.keys.digestSkipped(id), subscriberId);
        pipeline.hget(this.keys.digestFailures(id), String(subscriberId));
      }
      const values = ((await pipeline.exec()) ?? []).map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      page.forEach((digestId, index) => {
        const [fields, recipient, sent, failed, skipped, reason] = values.slice(index * 6, index * 6 + 6) as [
          (string | null)[],
          number,
          number,
          number,
          number,
          string | null,
        ];
        if (recipient !== 1) return;
        const [newsletterId, subject, createdAt] = fields;
        const outcome = sent === 1 ? 'delivered' : failed === 1 ? 'failed' : skipped === 1 ? 'skipped' : 'pending';
        history.push({
          digestId,
          newsletterId: newsletterId ?? '',
          subject: subject ?? '',
          createdAt: createdAt ?? '',
          outcome,
          ...(reason ? { reason } : {}),
        });
      });
    }
    return history;
  }

  /**
   * Removes a subscriber from every ledger (erasure): their failure reasons everywhere, and their bits in the
   * bitmaps of digests that are finished (sent or cancelled). A digest still sending keeps the bit of an id whose
   * record is gone (it is skipped and recorded as such, naming no one), so its counts still add up. Returns how many
   * ledgers changed.
   */
  async forgetSubscriber(subscriberId: number): Promise<number> {
    const digestIds = await this.redis.zrange(this.keys.digestsByCreated, '0', '-1');
    let changed = 0;
    for (let start = 0; start < digestIds.length; start += 200) {
      const page = digestIds.slice(start, start + 200);
      const statuses = await Promise.all(page.map((id) => this.getStatus(id)));
      const pipeline = this.redis.pipeline();
      page.forEach((id, index) => {
        pipeline.hdel(this.keys.digestFailures(id), String(subscriberId));
        const status = statuses[index];
        if (status !== 'sent' && status !== 'cancelled') return;
        for (const key of [
          this.keys.digestRecipients(id),
          this.keys.digestSent(id),
          this.keys.digestFailed(id),
          this.keys.digestSkipped(id),
        ]) {
          pipeline.setbit(key, subscriberId, 0);
        }
      });
      const results = ((await pipeline.exec()) ?? []).map(([error, value]) => {
        if (error) throw error;
        return Number(value);
      });
      changed += results.filter((value) => value > 0).length;
    }
    return changed;
  }

  /** The time up to which the newsletter's articles went out in a finished digest, or undefined. */
  async lastSentAt(newsletterId: string): Promise<Date | undefined> {
    const value = await this.redis.get(this.keys.newsletterLastSentAt(newsletterId));
    return value ? new Date(value) : undefined;
  }

  private script(name: string): ScriptCall {
    return scriptCommand(this.redis, name);
  }
}

const STATUSES = new Set<string>(DIGEST_STATUSES);

function asStatus(value: string): DigestStatus | undefined {
  return STATUSES.has(value) ? (value as DigestStatus) : undefined;
}

/** Whether bit `id` is set in a bitmap slice that starts at byte `firstByte` (Redis bit order: high bit first). */
export function isBitSet(bitmap: Buffer, firstByte: number, id: number): boolean {
  const byte = bitmap[(id >> 3) - firstByte];
  return byte !== undefined && (byte & (0x80 >> (id & 7))) !== 0;
}

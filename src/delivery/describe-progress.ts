/** A sending digest's progress as an editor watches it: counts, what remains, the pace and when it should finish. */
import type { Digest } from '../digests/digest.js';

/** Progress of a digest's send. */
export interface DigestProgress {
  status: Digest['status'];
  recipients: number;
  delivered: number;
  failed: number;
  skipped: number;
  /** Recipients not yet settled. */
  remaining: number;
  /** Settled share of the recipients, 0 to 100 (100 once sent). */
  percent: number;
  /** Recipients settled per second since fan-out, or null before there is a pace to tell. */
  ratePerSecond: number | null;
  /** Seconds until the rest is settled at that pace, or null when unknown (paused, no pace yet) or done. */
  etaSeconds: number | null;
  pausedReason: string | null;
}

/** Computes a digest's progress at `now` (pure). */
export function describeProgress(digest: Digest, now: Date): DigestProgress {
  const { recipients, delivered, failed, skipped } = digest.counts;
  const settled = delivered + failed + skipped;
  const remaining = Math.max(0, recipients - settled);
  const startedAt = Date.parse(digest.fannedOutAt ?? digest.sendRequestedAt ?? '');
  const endedAt = digest.sentAt ? Date.parse(digest.sentAt) : now.getTime();
  const seconds = Number.isFinite(startedAt) ? (endedAt - startedAt) / 1000 : 0;
  const ratePerSecond = settled > 0 && seconds >= 1 ? settled / seconds : null;
  const isMoving = digest.status === 'sending';
  const etaSeconds = isMoving && remaining > 0 && ratePerSecond ? Math.ceil(remaining / ratePerSecond) : null;
  const percent =
    digest.status === 'sent' ? 100 : recipients > 0 ? Math.min(100, Math.floor((settled / recipients) * 100)) : 0;
  return {
    status: digest.status,
    recipients,
    delivered,
    failed,
    skipped,
    remaining,
    percent,
    ratePerSecond: ratePerSecond === null ? null : Math.round(ratePerSecond * 10) / 10,
    etaSeconds,
    pausedReason: digest.pausedReason ?? null,
  };
}

/**
 * A newsletter's schedule firing (its BullMQ job scheduler, inside the workers): a draft of what is new, then, in
 * `send` mode, frozen and sent at once; in `draft` mode left for an editor to approve. Nothing new: no digest. The
 * digest is named after the run's time, so a retried run carries on with the digest it made instead of making another.
 */
import type { Config, Newsletter } from '../config.js';
import { createDraft, digestStamp, type CreateDraftDeps } from '../digests/create-draft.js';
import { isAppError } from '../errors.js';
import type { ScheduleRun } from '../newsletters/schedule-run-store.js';
import { sendNow, type SendNowDeps } from './send-now.js';

/** What a run needs (the app provides all of it). */
export interface RunNewsletterScheduleDeps extends SendNowDeps {
  digests: SendNowDeps['digests'] & CreateDraftDeps['digests'];
  articles: SendNowDeps['articles'] & CreateDraftDeps['articles'];
  lastSentAt: CreateDraftDeps['lastSentAt'];
  runs: { put(newsletterId: string, run: ScheduleRun): Promise<void> };
}

/** Input of `runNewsletterSchedule`. */
export interface RunNewsletterScheduleInput {
  newsletter: Newsletter;
  site: Config['site'];
  /** The time this run was scheduled for (names its digest). */
  runAt: Date;
}

/** The id of the digest a schedule run makes: `${newsletter}-${YYYYMMDD-HHmmss}-auto` (UTC). */
export function scheduledDigestId(newsletterId: string, runAt: Date): string {
  return `${newsletterId}-${digestStamp(runAt)}-auto`;
}

/** Runs a newsletter's schedule once (see the module comment) and records the outcome. */
export async function runNewsletterSchedule(
  deps: RunNewsletterScheduleDeps,
  input: RunNewsletterScheduleInput,
): Promise<ScheduleRun> {
  const { newsletter } = input;
  const mode = newsletter.schedule?.mode ?? 'draft';
  const digestId = scheduledDigestId(newsletter.id, input.runAt);
  const at = deps.clock().toISOString();
  let existing = await deps.digests.get(digestId);
  if (!existing) {
    try {
      existing = (await createDraft(deps, { newsletter, createdBy: 'schedule', id: digestId })).digest;
    } catch (error) {
      if (!isAppError(error, 'digest_empty')) throw error;
      const run: ScheduleRun = { at, outcome: 'nothing-new', reason: error.message };
      await deps.runs.put(newsletter.id, run);
      deps.logger.info({ newsletterId: newsletter.id }, 'schedule run: nothing new, no digest');
      return run;
    }
  }
  let run: ScheduleRun = { at, outcome: 'drafted', digestId };
  if (mode === 'send' && (existing.status === 'draft' || existing.status === 'ready')) {
    const sent = await sendNow(deps, { digestId, newsletter, site: input.site, by: 'schedule' });
    run = { at, outcome: 'sent', digestId, reason: `status ${sent.status}` };
  } else if (mode === 'send') {
    run = { at, outcome: 'sent', digestId, reason: `status ${existing.status}` };
  }
  await deps.runs.put(newsletter.id, run);
  deps.logger.info({ newsletterId: newsletter.id, digestId, outcome: run.outcome }, 'schedule run');
  return run;
}

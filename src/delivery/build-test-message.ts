/**
 * A test copy of an issue (a `test` job of the transactional queue): the issue as readers will get it (a draft
 * rendered now, a frozen one as stored), to one address an editor typed, through the one message composer. The
 * subject says it is a test; the links are the placeholders of previews (they unsubscribe nobody); nothing is
 * recorded in the ledger or counted as delivered. Each request has Message-IDs of its own, so a mail client never
 * folds a later test, or the real issue, into an earlier one.
 */
import type { Config } from '../config.js';
import { loadIssue, type LoadIssueDeps } from '../digests/load-issue.js';
import { AppError } from '../errors.js';
import { prepareMessage, PREVIEW_TOKEN, type RenderedMessage } from '../mail/compose-message.js';
import type { TransactionalJob } from '../queue/job-definitions.js';
import { linksForToken } from '../subscribers/tokens.js';

/** What the subject of a test starts with. */
export const TEST_SUBJECT_PREFIX = '[Test] ';

/** What building a test copy needs. */
export interface BuildTestMessageDeps extends LoadIssueDeps {
  config: Pick<Config, 'site' | 'newsletters' | 'secret'>;
}

/** Builds the test copy a `test` job names; `digest_not_found` when the digest is gone. */
export async function buildTestMessage(
  deps: BuildTestMessageDeps,
  job: Extract<TransactionalJob, { kind: 'test' }>,
): Promise<{ message: RenderedMessage; email: string }> {
  const { config } = deps;
  const digest = await deps.digests.get(job.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${job.digestId}"`);
  const newsletter = config.newsletters.find((candidate) => candidate.id === digest.newsletterId);
  if (!newsletter) throw new AppError('newsletter_not_found', `newsletter "${digest.newsletterId}" is not configured`);
  const issue = await loadIssue(deps, { digestId: digest.id, newsletter, site: config.site });
  const prepared = prepareMessage({
    messageKey: digest.id,
    messageSeed: `test:${job.requestId}:${job.email}`,
    subject: `${TEST_SUBJECT_PREFIX}${issue.body.subject}`,
    text: issue.body.text,
    html: issue.body.html,
    from: newsletter.from ?? config.site.from,
    replyTo: newsletter.replyTo ?? config.site.replyTo,
    site: config.site,
    secret: config.secret,
    list: newsletter,
  });
  // Recipient id 0 is nobody's; the request's seed keeps the Message-ID apart from any reader's copy.
  const message = prepared.renderWithLinks(
    { id: 0, email: job.email },
    linksForToken(config.site, PREVIEW_TOKEN),
    deps.clock(),
  );
  return { message, email: job.email };
}

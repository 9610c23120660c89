/**
 * A test send: the issue as readers will get it (a draft rendered now, a frozen one as stored), mailed to a few
 * addresses an editor typed, through the same composer as every digest. The subject says it is a test; the links are
 * the placeholders of previews (they unsubscribe nobody); nothing is recorded in the ledger or counted as delivered.
 * Each copy has its own Message-ID, so a mail client never folds a later test (or the real issue) into an earlier one.
 */
import { createHash } from 'node:crypto';
import type { Config, Newsletter } from '../config.js';
import { loadIssue, type LoadIssueDeps } from '../digests/load-issue.js';
import type { Logger } from '../logger.js';
import { prepareDigestMessage, PREVIEW_TOKEN, type RenderedMessage } from '../mail/compose-message.js';
import { linksForToken } from '../subscribers/tokens.js';

/** What a test send needs; `send` is the step that hands one finished message to the relay. */
export interface SendTestDigestDeps extends LoadIssueDeps {
  send: (message: RenderedMessage) => Promise<void>;
  logger: Logger;
}

/** Input of `sendTestDigest`. */
export interface SendTestDigestInput {
  digestId: string;
  /** The addresses, already validated (1 to 5). */
  to: string[];
  newsletter: Newsletter;
  site: Config['site'];
  /** The token secret (Message-IDs are keyed from it). */
  secret: string;
  /** Names the request: a retried job sends the same Message-IDs, a new request new ones. */
  requestId: string;
  requestedBy: string;
}

/** What the subject of a test starts with. */
export const TEST_SUBJECT_PREFIX = '[Test] ';

/**
 * A stand-in recipient id for a test copy: negative, so its Message-ID can never equal a real reader's copy of the
 * same issue, and drawn from the request and the address, so each request gets ids of its own.
 */
function testRecipientId(requestId: string, address: string): number {
  return -(Number.parseInt(createHash('sha256').update(`${requestId}:${address}`).digest('hex').slice(0, 12), 16) + 1);
}

/** Sends the test copies one after another; returns how many went out. */
export async function sendTestDigest(deps: SendTestDigestDeps, input: SendTestDigestInput): Promise<{ sent: number }> {
  const issue = await loadIssue(deps, { digestId: input.digestId, newsletter: input.newsletter, site: input.site });
  const template = prepareDigestMessage({
    digest: issue.digest,
    body: { ...issue.body, subject: `${TEST_SUBJECT_PREFIX}${issue.body.subject}` },
    newsletter: input.newsletter,
    site: input.site,
    secret: input.secret,
  });
  const links = linksForToken(input.site, PREVIEW_TOKEN);
  const now = deps.clock();
  for (const address of input.to) {
    await deps.send(
      template.renderWithLinks({ id: testRecipientId(input.requestId, address), email: address }, links, now),
    );
  }
  deps.logger.info(
    { digestId: issue.digest.id, copies: input.to.length, requestedBy: input.requestedBy },
    'test copies sent',
  );
  return { sent: input.to.length };
}

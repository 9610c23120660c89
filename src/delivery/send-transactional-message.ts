/**
 * Sending one transactional message (the `transactional` queue): build it from the job's kind and data at send time,
 * skip it quietly when it no longer applies (the request was confirmed or purged, the reader left or is suppressed),
 * send it through the same mailer as digests, and read the relay's answer with the same classifier: a mailbox that
 * does not exist suppresses the address, another permanent refusal ends the job, a temporary one retries it.
 */
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { buildTestMessage, type BuildTestMessageDeps } from './build-test-message.js';
import type { Logger } from '../logger.js';
import type { RenderedMessage } from '../mail/compose-message.js';
import { confirmationContent, welcomeContent } from '../mail/reader-messages.js';
import { composeTransactionalMessage } from '../mail/transactional-message.js';
import type { TransactionalJob } from '../queue/job-definitions.js';
import { classifySmtpReply } from '../smtp/classify-smtp-reply.js';
import type { Mailer } from '../smtp/mailer.js';
import type { Subscriber } from '../subscribers/subscriber.js';
import { createToken, pageUrl, subscriberLinks } from '../subscribers/tokens.js';

/** What building and sending a transactional message needs. */
export interface SendTransactionalMessageDeps {
  config: Pick<Config, 'site' | 'newsletters' | 'secret'> & { subscribe: Pick<Config['subscribe'], 'confirmTtlHours'> };
  subscribers: {
    get(id: number): Promise<Subscriber | undefined>;
    getSuppression(email: string): Promise<unknown>;
    suppress(email: string, reason: string): Promise<unknown>;
  };
  mailer: Mailer;
  clock: () => Date;
  logger: Logger;
  /** Where test copies come from (digests and their articles); without it a `test` job cannot be built. */
  issues?: Pick<BuildTestMessageDeps, 'digests' | 'articles'>;
}

/** How one transactional job ended. */
export type TransactionalOutcome =
  | { kind: 'sent'; messageId: string }
  /** Nothing to send any more (the reason names no one). */
  | { kind: 'skipped'; reason: string }
  /** The relay said the mailbox does not exist: the address is now suppressed. */
  | { kind: 'refused'; reason: string };

/** A message ready to go, or why there is none. */
export type BuiltTransactionalMessage = { message: RenderedMessage; email: string } | { skip: string };

const HOUR_MS = 3_600_000;

/** Builds the message a job names, from the current state of the reader (see the module comment). */
export async function buildTransactionalMessage(
  deps: Pick<SendTransactionalMessageDeps, 'config' | 'subscribers' | 'clock' | 'issues'>,
  job: TransactionalJob,
): Promise<BuiltTransactionalMessage> {
  const { config } = deps;
  if (job.kind === 'test') {
    if (!deps.issues) throw new AppError('config_invalid', 'test copies need the digests; none were given');
    return buildTestMessage({ ...deps.issues, config, clock: deps.clock }, job);
  }
  const now = deps.clock();
  const subscriber = await deps.subscribers.get(job.subscriberId);
  if (!subscriber) return { skip: 'the reader no longer exists' };
  const recipient = { id: subscriber.id, email: subscriber.email };
  switch (job.kind) {
    case 'confirmation': {
      if (subscriber.requestedAt !== job.requestedAt) return { skip: 'the request was confirmed, renewed or expired' };
      const asked = subscriber.status === 'pending' ? subscriber.newsletters : subscriber.requested;
      const expiresAt = new Date(Date.parse(job.requestedAt) + config.subscribe.confirmTtlHours * HOUR_MS);
      if (asked.length === 0) return { skip: 'nothing is awaiting confirmation' };
      if (expiresAt.getTime() <= now.getTime()) return { skip: 'the request expired before it could be sent' };
      const token = createToken(config.secret, { purpose: 'confirm', subscriberId: subscriber.id, expiresAt });
      const names = config.newsletters.filter((n) => asked.includes(n.id)).map((n) => n.name);
      const content = confirmationContent({
        site: config.site,
        newsletterNames: names.length > 0 ? names : asked,
        confirmUrl: pageUrl(config.site, 'confirm', token),
        expiresAt,
        ttlHours: config.subscribe.confirmTtlHours,
      });
      const message = await composeTransactionalMessage({
        messageKey: 'confirmation',
        messageSeed: job.requestedAt,
        content,
        recipient,
        site: config.site,
        secret: config.secret,
        now,
      });
      return { message, email: subscriber.email };
    }
    case 'welcome': {
      const newsletter = config.newsletters.find((n) => n.id === job.newsletterId);
      if (!newsletter?.welcome) return { skip: 'the newsletter has no welcome message' };
      if (subscriber.status !== 'active' || !subscriber.newsletters.includes(newsletter.id)) {
        return { skip: 'the reader no longer takes the newsletter' };
      }
      const message = await composeTransactionalMessage({
        messageKey: 'welcome',
        messageSeed: `${newsletter.id}:${job.joinedAt}`,
        content: welcomeContent({ ...newsletter, welcome: newsletter.welcome }),
        recipient,
        site: config.site,
        secret: config.secret,
        list: {
          newsletter,
          links: subscriberLinks(config.site, config.secret, {
            subscriberId: subscriber.id,
            newsletterId: newsletter.id,
          }),
        },
        now,
      });
      return { message, email: subscriber.email };
    }
  }
}

/**
 * Builds and sends one transactional message. Throws `delivery_incomplete` on a temporary refusal (the job is
 * retried) and `message_refused` on a permanent one that is not about the mailbox (not retried).
 */
export async function sendTransactionalMessage(
  deps: SendTransactionalMessageDeps,
  job: TransactionalJob,
): Promise<TransactionalOutcome> {
  const built = await buildTransactionalMessage(deps, job);
  if ('skip' in built) {
    deps.logger.info({ kind: job.kind, reason: built.skip }, 'transactional message not sent');
    return { kind: 'skipped', reason: built.skip };
  }
  const { message, email } = built;
  if (await deps.subscribers.getSuppression(email)) {
    return { kind: 'skipped', reason: 'the address is suppressed' };
  }
  let reply;
  try {
    reply = classifySmtpReply(await deps.mailer.send(message));
  } catch (error) {
    reply = classifySmtpReply(error);
  }
  switch (reply.kind) {
    case 'ok':
      deps.logger.info({ kind: job.kind }, 'transactional message sent');
      return { kind: 'sent', messageId: message.messageId };
    case 'permanent-mailbox':
      await deps.subscribers.suppress(email, reply.message);
      deps.logger.warn({ kind: job.kind, reason: reply.message }, 'transactional message refused: address suppressed');
      return { kind: 'refused', reason: reply.message };
    case 'permanent-other':
      throw new AppError('message_refused', `the relay refused the ${job.kind} message: ${reply.message}`);
    case 'transient':
      throw new AppError('delivery_incomplete', `the ${job.kind} message was not accepted yet: ${reply.message}`);
    case 'relay-refused':
      // The relay refused the session itself (login, TLS, greeting): nobody's fault but the relay's; retried later.
      deps.logger.error({ kind: job.kind, reason: reply.message }, 'the relay refused the session');
      throw new AppError('delivery_incomplete', `the relay refused the session: ${reply.message}`);
  }
}

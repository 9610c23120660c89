/**
 * Bounce and complaint reports after the SMTP session. `POST /webhooks/bounces` takes our own signed feed
 * (WEBHOOK_SECRET, the articles webhook's scheme and replay guard); `/webhooks/bounces/<provider>` takes the native
 * webhook of Amazon SES (via SNS), SendGrid, Mailgun or Postmark, each closed (404) until its own setting is given.
 * Every report is verified, then parsed whole, then applied: nothing of a bad report is recorded.
 */
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { App } from '../../app.js';
import { AppError, httpStatusFor, isAppError } from '../../errors.js';
import { recordBounces, type BounceEvent } from '../../subscribers/record-bounces.js';
import { requireToken } from '../access/require-token.js';
import { clientAddress } from '../client-address.js';
import type { HttpApp } from '../http-env.js';
import { createRateLimiter } from '../rate-limit.js';
import {
  mailgunEvents,
  parseJsonBody,
  parseMailgunReport,
  parseOwnReport,
  parsePostmarkReport,
  parseSendGridReport,
  parseSesNotification,
} from './bounce-payloads.js';
import { isFresh, isMailgunSignatureValid, isSendGridSignatureValid, readSendGridKey } from './provider-signatures.js';
import { createReplayGuard, verifySignedRequest } from './signed-request.js';
import {
  createSnsKeySource,
  fetchFromSns,
  isSnsSignatureValid,
  isSnsUrl,
  parseSnsMessage,
  type SnsFetch,
} from './sns-message.js';

/** Largest bounce report read, in bytes. */
export const BOUNCE_REPORT_MAX_BYTES = 1024 * 1024;
/** How old a provider's signed timestamp may be (clock skew and the provider's own retries). */
const PROVIDER_TOLERANCE_SECONDS = 15 * 60;
/** SNS retries a message with its original timestamp for up to an hour and more: accept a day. */
const SNS_TOLERANCE_SECONDS = 24 * 3600;

/** Options of the bounce routes. */
export interface BounceRoutesOptions {
  /** How SNS certificates and subscription confirmations are fetched. @defaultValue fetchFromSns */
  fetchFromSns?: SnsFetch;
}

type Handler = (c: Context, body: Buffer) => Promise<BounceEvent[] | Response>;

/** Registers the bounce webhooks. */
export function registerBounceRoutes(http: HttpApp, app: App, options: BounceRoutesOptions = {}): void {
  const { config } = app;
  const replay = createReplayGuard(app.redis, app.keys);
  const deps = {
    subscribers: app.subscribers,
    softLimit: config.bounces.softLimit,
    softWindowMs: config.bounces.softWindowDays * 86_400_000,
    logger: app.logger,
  };
  const fetchText = options.fetchFromSns ?? fetchFromSns;
  const ses = config.bounces.ses;
  const snsKey = ses ? createSnsKeySource({ testCertificate: ses.testCertificate, fetchText }) : undefined;
  const sendGridKey = config.bounces.sendgridPublicKey ? readSendGridKey(config.bounces.sendgridPublicKey) : undefined;
  const postmark = config.bounces.postmark;

  const route = (path: string, isEnabled: boolean, handle: Handler) =>
    http.post(
      path,
      bodyLimit({
        maxSize: BOUNCE_REPORT_MAX_BYTES,
        onError: (c) => fail(c, new AppError('input_invalid', `report over ${BOUNCE_REPORT_MAX_BYTES} bytes`), 413),
      }),
      async (c) => {
        if (!isEnabled) return c.json({ error: { code: 'not_found', message: `${path} is not enabled` } }, 404);
        try {
          const handled = await handle(c, Buffer.from(await c.req.arrayBuffer()));
          if (handled instanceof Response) return handled;
          return c.json({ received: handled.length, ...(await recordBounces(deps, handled)) });
        } catch (error) {
          if (!isAppError(error)) throw error;
          return fail(c, error);
        }
      },
    );

  route('/webhooks/bounces', config.http.webhookSecret !== undefined, async (c, body) => {
    await verifySignedRequest(
      { secret: config.http.webhookSecret ?? '', replay, clock: app.clock },
      body,
      c.req.header('x-letterpress-signature'),
    );
    return parseOwnReport(parseJsonBody(body, 'bounce'));
  });

  route('/webhooks/bounces/ses', ses !== undefined && snsKey !== undefined, async (c, body) => {
    const message = parseSnsMessage(parseJsonBody(body, 'SNS'));
    if (!ses?.topicArns.includes(message.TopicArn))
      throw new AppError('unauthorized', 'SNS message: the topic is not one of BOUNCES_SES_TOPIC_ARNS');
    if (!snsKey || !isSnsSignatureValid(message, await snsKey(message.SigningCertURL)))
      throw new AppError('unauthorized', 'SNS message: the signature does not verify');
    if (!isFresh(Date.parse(message.Timestamp) / 1000, app.clock(), SNS_TOLERANCE_SECONDS))
      throw new AppError('unauthorized', 'SNS message: too old');
    if (message.Type === 'SubscriptionConfirmation') {
      if (!message.SubscribeURL || !isSnsUrl(message.SubscribeURL))
        throw new AppError('input_invalid', 'SNS message: SubscribeURL is not an sns.<region>.amazonaws.com URL');
      await fetchText(message.SubscribeURL);
      app.logger.info({ topic: message.TopicArn }, 'SNS subscription confirmed');
      return c.json({ confirmed: true });
    }
    return message.Type === 'Notification' ? parseSesNotification(message.Message, message.MessageId) : [];
  });

  route('/webhooks/bounces/sendgrid', sendGridKey !== undefined, async (c, body) => {
    const timestamp = c.req.header('x-twilio-email-event-webhook-timestamp');
    const signature = c.req.header('x-twilio-email-event-webhook-signature');
    if (!sendGridKey || !isSendGridSignatureValid(sendGridKey, body, signature, timestamp))
      throw new AppError('unauthorized', 'SendGrid signature missing or wrong');
    if (!isFresh(timestamp ?? '', app.clock(), PROVIDER_TOLERANCE_SECONDS))
      throw new AppError('unauthorized', 'SendGrid signature too old');
    return parseSendGridReport(parseJsonBody(body, 'SendGrid'));
  });

  route('/webhooks/bounces/mailgun', config.bounces.mailgunSigningKey !== undefined, async (_c, body) => {
    const report = parseMailgunReport(parseJsonBody(body, 'Mailgun'));
    if (!isMailgunSignatureValid(config.bounces.mailgunSigningKey ?? '', report.signature))
      throw new AppError('unauthorized', 'Mailgun signature wrong');
    if (!isFresh(report.signature.timestamp, app.clock(), PROVIDER_TOLERANCE_SECONDS))
      throw new AppError('unauthorized', 'Mailgun signature too old');
    if (!(await replay.isFirstUse(`mailgun:${report.signature.token}`, PROVIDER_TOLERANCE_SECONDS * 2)))
      throw new AppError('replayed', 'this Mailgun report was already received');
    return mailgunEvents(report);
  });

  if (postmark) {
    // Postmark does not sign its webhooks; its documentation puts HTTP Basic credentials in the webhook URL.
    http.use(
      '/webhooks/bounces/postmark',
      requireToken({
        tokens: [{ name: postmark.user, token: postmark.password }],
        realm: 'Letterpress bounces',
        failures: createRateLimiter(app.redis, app.keys, {
          name: 'webhook-auth-failures',
          points: 20,
          durationSeconds: 900,
        }),
        clientAddress: (c) => clientAddress(c, config.http.trustedProxies),
      }),
    );
  }
  route('/webhooks/bounces/postmark', postmark !== undefined, async (_c, body) =>
    parsePostmarkReport(parseJsonBody(body, 'Postmark')),
  );
}

function fail(c: Context, error: AppError, status?: number): Response {
  return c.json({ error: { code: error.code, message: error.message } }, (status ?? httpStatusFor(error.code)) as 400);
}

/**
 * Bounce and complaint reports after the SMTP session, as each source sends them: our own signed feed, and the
 * native webhooks of Amazon SES (through SNS), SendGrid, Mailgun and Postmark with payloads shaped as each provider
 * documents. What a user checks: which addresses end up suppressed, why, and what a forged or replayed report does.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, createSign, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpApp } from '../../src/http/server.js';
import { isSendGridSignatureValid, readSendGridKey } from '../../src/http/webhooks/provider-signatures.js';
import { signWebhookBody } from '../../src/http/webhooks/signed-request.js';
import { isSnsUrl, snsStringToSign, type SnsMessage } from '../../src/http/webhooks/sns-message.js';
import { silentLogger } from '../../src/logger.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const WEBHOOK_SECRET = 'bounce-webhook-secret-0123456789abcdefghij';
const MAILGUN_KEY = 'key-mailgun-signing-0123456789abcdef';
const POSTMARK = { user: 'postmark', password: 'postmark-basic-password-0123456789' };
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:letterpress-bounces';
const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';

let app: App;
let cleanup: () => Promise<void>;
let now = Date.parse('2026-03-02T09:00:00Z');
const snsFetches: string[] = [];
let snsKey: string;
const sendGrid = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

beforeAll(async () => {
  // A real self-signed certificate stands in for Amazon's (BOUNCES_SES_TEST_CERTIFICATE, tests only); where the
  // openssl command is missing, the public key alone, which the setting also takes.
  const dir = mkdtempSync(join(tmpdir(), 'lp-sns-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=sns.amazonaws.com',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    snsKey = readFileSync(join(dir, 'key.pem'), 'utf8');
  } catch {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    snsKey = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    writeFileSync(join(dir, 'cert.pem'), pair.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  }
  const redis = await openTestRedis('bounces');
  cleanup = redis.cleanup;
  app = await createApp(
    loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: redis.prefix,
      WEBHOOK_SECRET,
      SOFT_BOUNCE_LIMIT: '3',
      SOFT_BOUNCE_WINDOW_DAYS: '7',
      BOUNCES_SES_TOPIC_ARNS: TOPIC,
      BOUNCES_SES_TEST_CERTIFICATE: join(dir, 'cert.pem'),
      BOUNCES_SENDGRID_PUBLIC_KEY: sendGrid.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      BOUNCES_MAILGUN_SIGNING_KEY: MAILGUN_KEY,
      BOUNCES_POSTMARK_CREDENTIALS: `${POSTMARK.user}:${POSTMARK.password}`,
    }),
    { logger: silentLogger, clock: () => new Date(now) },
  );
});
afterAll(async () => {
  await app.close();
  await cleanup();
});

const http = () =>
  createHttpApp(app, {
    fetchFromSns: async (url) => {
      snsFetches.push(url);
      return '<ConfirmSubscriptionResponse/>';
    },
  });
const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
  http().request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const suppression = (email: string) => app.subscribers.getSuppression(email);
const seconds = () => Math.floor(now / 1000);

async function reader(email: string) {
  return (await app.subscribers.add({ email, newsletterIds: ['daily'], status: 'active' })).subscriber;
}

describe('our own signed bounce feed', () => {
  const send = (payload: unknown, signature?: string) => {
    const body = JSON.stringify(payload);
    return postJson('/webhooks/bounces', body, {
      'x-letterpress-signature': signature ?? signWebhookBody(WEBHOOK_SECRET, body, seconds()),
    });
  };

  it('a hard bounce suppresses the address in every newsletter, with the reason and no address in it', async () => {
    const { id } = await reader('hard@example.org');
    const response = await send({
      email: 'hard@example.org',
      type: 'hard',
      reason: '550 5.1.1 <hard@example.org> unknown',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 1, suppressed: 1, softCounted: 0 });
    expect((await app.subscribers.get(id))?.status).toBe('suppressed');
    expect(await app.subscribers.isActive(id, 'daily')).toBe(false);
    const why = await suppression('hard@example.org');
    expect(why?.reason).toBe('hard bounce (webhook): 550 5.1.1 [address] unknown');
    expect(why?.at).toBe(new Date(now).toISOString());
  });

  it('soft bounces suppress at the configured count within the window, not before and not across it', async () => {
    await reader('soft@example.org');
    const soft = { email: 'soft@example.org', type: 'soft', reason: '452 mailbox full' };
    expect(await (await send({ events: [soft, soft] })).json()).toEqual({ received: 2, suppressed: 0, softCounted: 2 });
    now += 8 * 86_400_000;
    expect(await (await send(soft)).json()).toMatchObject({ softCounted: 1 });
    expect(await suppression('soft@example.org')).toBeUndefined();
    now += 86_400_000;
    expect(await (await send({ events: [soft, soft] })).json()).toEqual({ received: 2, suppressed: 1, softCounted: 1 });
    expect((await suppression('soft@example.org'))?.reason).toBe(
      '3 soft bounces within 7 days (webhook); last: 452 mailbox full',
    );
  });

  it('refuses a wrong signature, a replay and a malformed report, and applies nothing of them', async () => {
    await reader('safe@example.org');
    const payload = { email: 'safe@example.org', type: 'complaint', reason: 'abuse' };
    const body = JSON.stringify(payload);
    const forged = await postJson('/webhooks/bounces', body, {
      'x-letterpress-signature': signWebhookBody('x'.repeat(40), body, seconds()),
    });
    expect(forged.status).toBe(401);
    const old = await postJson('/webhooks/bounces', body, {
      'x-letterpress-signature': signWebhookBody(WEBHOOK_SECRET, body, seconds() - 3600),
    });
    expect(old.status).toBe(401);
    const bad = await send({
      events: [payload, { email: 'not an address', type: 'hard' }, { email: 'a@example.org', type: 'bounced' }],
    });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { error: { message: string } };
    expect(problem.error.message).toMatch(/events\.1\.email/);
    expect(problem.error.message).toMatch(/events\.2\.type/);
    expect(await suppression('safe@example.org')).toBeUndefined();

    const signature = signWebhookBody(WEBHOOK_SECRET, body, seconds());
    expect((await postJson('/webhooks/bounces', body, { 'x-letterpress-signature': signature })).status).toBe(200);
    expect((await postJson('/webhooks/bounces', body, { 'x-letterpress-signature': signature })).status).toBe(409);
  });
});

describe('Amazon SES through SNS', () => {
  function snsMessage(fields: Partial<SnsMessage> & Pick<SnsMessage, 'Type' | 'Message'>, key = snsKey): SnsMessage {
    const message = {
      MessageId: `msg-${Math.random().toString(36).slice(2)}`,
      TopicArn: TOPIC,
      Timestamp: new Date(now).toISOString(),
      SignatureVersion: '2' as const,
      SigningCertURL: CERT_URL,
      Signature: '',
      ...fields,
    };
    const signer = createSign(message.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
    signer.update(snsStringToSign(message));
    return { ...message, Signature: fields.Signature ?? signer.sign(key, 'base64') };
  }
  // SNS posts JSON with Content-Type text/plain.
  const post = (message: unknown) =>
    http().request('/webhooks/bounces/ses', {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
      body: JSON.stringify(message),
    });
  const bounce = (bounceType: string, ...addresses: string[]) =>
    JSON.stringify({
      notificationType: 'Bounce',
      bounce: {
        bounceType,
        bounceSubType: bounceType === 'Permanent' ? 'General' : 'MailboxFull',
        bouncedRecipients: addresses.map((emailAddress) => ({
          emailAddress,
          action: 'failed',
          status: '5.1.1',
          diagnosticCode: `smtp; 550 5.1.1 <${emailAddress}>... User unknown`,
        })),
        timestamp: new Date(now).toISOString(),
        feedbackId: '0100017a-feedback',
        reportingMTA: 'dsn; a8-70.smtp-out.amazonses.com',
      },
      mail: {
        timestamp: new Date(now).toISOString(),
        source: 'newsletter@harbourgazette.example',
        messageId: 'ses-1',
        destination: addresses,
      },
    });

  it('a permanent bounce suppresses every bounced recipient; a complaint suppresses; a delivery changes nothing', async () => {
    await reader('ses1@example.org');
    await reader('ses2@example.org');
    const bounced = await post(
      snsMessage({ Type: 'Notification', Message: bounce('Permanent', 'ses1@example.org', 'ses2@example.org') }),
    );
    expect(bounced.status).toBe(200);
    expect(await bounced.json()).toEqual({ received: 2, suppressed: 2, softCounted: 0 });
    expect((await suppression('ses2@example.org'))?.reason).toMatch(
      /^hard bounce \(ses\): Permanent General 5\.1\.1 smtp; 550 5\.1\.1 \[address\]/,
    );

    const complaint = JSON.stringify({
      notificationType: 'Complaint',
      complaint: {
        complainedRecipients: [{ emailAddress: 'ses3@example.org' }],
        complaintFeedbackType: 'abuse',
        feedbackId: 'f',
        timestamp: new Date(now).toISOString(),
      },
      mail: { messageId: 'ses-2' },
    });
    expect(
      await (await post(snsMessage({ Type: 'Notification', Message: complaint, SignatureVersion: '1' }))).json(),
    ).toMatchObject({ suppressed: 1 });
    expect((await suppression('ses3@example.org'))?.reason).toBe('complaint (ses): abuse');

    const delivery = JSON.stringify({
      notificationType: 'Delivery',
      mail: { messageId: 'ses-3' },
      delivery: { recipients: ['ses4@example.org'] },
    });
    expect(await (await post(snsMessage({ Type: 'Notification', Message: delivery }))).json()).toEqual({
      received: 0,
      suppressed: 0,
      softCounted: 0,
    });
    const transient = await post(
      snsMessage({ Type: 'Notification', Message: bounce('Transient', 'ses4@example.org') }),
    );
    expect(await transient.json()).toMatchObject({ softCounted: 1 });
    expect(await suppression('ses4@example.org')).toBeUndefined();
  });

  it('answers the subscription confirmation by visiting its SubscribeURL, and only on Amazon’s host', async () => {
    const subscribeUrl = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=abc`;
    const confirmed = await post(
      snsMessage({
        Type: 'SubscriptionConfirmation',
        Message: 'You have chosen to subscribe',
        Token: 'abc',
        SubscribeURL: subscribeUrl,
      }),
    );
    expect(confirmed.status).toBe(200);
    expect(snsFetches).toEqual([subscribeUrl]);
    const elsewhere = await post(
      snsMessage({
        Type: 'SubscriptionConfirmation',
        Message: 'x',
        Token: 'abc',
        SubscribeURL: 'https://169.254.169.254/latest/meta-data',
      }),
    );
    expect(elsewhere.status).toBe(400);
    expect(snsFetches).toHaveLength(1);
  });

  it('refuses a forged signature, another topic, a certificate off Amazon’s host and a stale message', async () => {
    await reader('target@example.org');
    const message = bounce('Permanent', 'target@example.org');
    const intruder = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const cases: SnsMessage[] = [
      snsMessage({ Type: 'Notification', Message: message }, intruder),
      snsMessage({
        Type: 'Notification',
        Message: message,
        TopicArn: 'arn:aws:sns:eu-west-1:999999999999:someone-elses',
      }),
      snsMessage({
        Type: 'Notification',
        Message: message,
        SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem',
      }),
      snsMessage({
        Type: 'Notification',
        Message: message,
        SigningCertURL: 'http://sns.eu-west-1.amazonaws.com/cert.pem',
      }),
      snsMessage({ Type: 'Notification', Message: message, Timestamp: new Date(now - 3 * 86_400_000).toISOString() }),
      { ...snsMessage({ Type: 'Notification', Message: message }), Message: bounce('Permanent', 'other@example.org') },
    ];
    for (const forged of cases) expect((await post(forged)).status).toBe(401);
    expect(await suppression('target@example.org')).toBeUndefined();
    expect(await suppression('other@example.org')).toBeUndefined();
    expect((await post({ Type: 'Notification' })).status).toBe(400);
  });

  it('takes certificates only from https://sns.<region>.amazonaws.com', () => {
    expect(isSnsUrl(CERT_URL, { pathSuffix: '.pem' })).toBe(true);
    expect(isSnsUrl('https://sns.cn-north-1.amazonaws.com.cn/x.pem', { pathSuffix: '.pem' })).toBe(true);
    for (const url of [
      'https://sns.us-east-1.amazonaws.com.evil.example/x.pem',
      'https://evil.example/sns.us-east-1.amazonaws.com/x.pem',
      'https://user@sns.us-east-1.amazonaws.com/x.pem',
      'https://sns.us-east-1.amazonaws.com:8443/x.pem',
      'https://s3.amazonaws.com/x.pem',
      'https://sns.us-east-1.amazonaws.com/x.txt',
      'not a url',
    ]) {
      expect(isSnsUrl(url, { pathSuffix: '.pem' }), url).toBe(false);
    }
  });
});

describe('SendGrid signed event webhook', () => {
  const post = (events: unknown[], options: { key?: typeof sendGrid.privateKey; timestamp?: number } = {}) => {
    const body = JSON.stringify(events);
    const timestamp = String(options.timestamp ?? seconds());
    const signature = sign('sha256', Buffer.from(timestamp + body), {
      key: options.key ?? sendGrid.privateKey,
      dsaEncoding: 'der',
    }).toString('base64');
    return postJson('/webhooks/bounces/sendgrid', body, {
      'x-twilio-email-event-webhook-signature': signature,
      'x-twilio-email-event-webhook-timestamp': timestamp,
    });
  };
  const event = (fields: Record<string, unknown>) => ({
    timestamp: seconds(),
    'smtp-id': '<x@sendgrid>',
    sg_event_id: Math.random().toString(36),
    sg_message_id: 'm.1',
    ...fields,
  });

  it('bounce (hard), blocked and deferred (soft, not counted for deferred), spam reports; deliveries and opens ignored', async () => {
    const response = await post([
      event({
        email: 'sg1@example.org',
        event: 'bounce',
        type: 'bounce',
        status: '5.1.1',
        reason: '550 5.1.1 The email account does not exist',
      }),
      event({ email: 'sg2@example.org', event: 'bounce', type: 'blocked', status: '4.0.0', reason: 'blocked' }),
      event({ email: 'sg3@example.org', event: 'spamreport' }),
      event({ email: 'sg4@example.org', event: 'delivered', response: '250 OK' }),
      event({ email: 'sg4@example.org', event: 'deferred', response: '400 try again', attempt: '1' }),
      event({ email: 'sg4@example.org', event: 'open' }),
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 3, suppressed: 2, softCounted: 1 });
    expect((await suppression('sg1@example.org'))?.reason).toBe(
      'hard bounce (sendgrid): 5.1.1 550 5.1.1 The email account does not exist',
    );
    expect((await suppression('sg3@example.org'))?.reason).toBe('complaint (sendgrid)');
    expect(await suppression('sg2@example.org')).toBeUndefined();
    expect(await suppression('sg4@example.org')).toBeUndefined();
  });

  it('refuses another key’s signature, a stale timestamp and a missing header', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const events = [event({ email: 'sg9@example.org', event: 'spamreport' })];
    expect((await post(events, { key: other.privateKey })).status).toBe(401);
    expect((await post(events, { timestamp: seconds() - 3600 })).status).toBe(401);
    expect((await postJson('/webhooks/bounces/sendgrid', JSON.stringify(events))).status).toBe(401);
    expect(await suppression('sg9@example.org')).toBeUndefined();
  });

  it('accepts SendGrid’s own published test vector', () => {
    const key = readSendGridKey(
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==',
    );
    const payload = Buffer.from(
      JSON.stringify({ category: 'example_payload', event: 'test_event', message_id: 'message_id' }),
    );
    const signature =
      'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=';
    expect(isSendGridSignatureValid(key, payload, signature, '1588788367')).toBe(true);
    expect(isSendGridSignatureValid(key, Buffer.from('payload'), signature, '1588788367')).toBe(false);
    expect(isSendGridSignatureValid(key, payload, signature, '1588788368')).toBe(false);
  });
});

describe('Mailgun webhooks', () => {
  const post = (
    eventData: Record<string, unknown>,
    options: { key?: string; timestamp?: number; token?: string } = {},
  ) => {
    const timestamp = String(options.timestamp ?? seconds());
    const token = options.token ?? `tok${Math.random().toString(36).slice(2)}0123456789`;
    const signature = createHmac('sha256', options.key ?? MAILGUN_KEY)
      .update(timestamp + token)
      .digest('hex');
    return postJson(
      '/webhooks/bounces/mailgun',
      JSON.stringify({ signature: { timestamp, token, signature }, 'event-data': eventData }),
    );
  };
  const failed = (recipient: string, severity: string) => ({
    event: 'failed',
    id: `ev-${Math.random().toString(36).slice(2)}`,
    timestamp: seconds(),
    severity,
    reason: severity === 'permanent' ? 'bounce' : 'generic',
    recipient,
    'delivery-status': { code: severity === 'permanent' ? 550 : 452, message: 'mailbox', description: '' },
    message: { headers: { 'message-id': 'x@mg' } },
  });

  it('a permanent failure and a complaint suppress; a temporary failure counts as soft', async () => {
    expect(await (await post(failed('mg1@example.org', 'permanent'))).json()).toEqual({
      received: 1,
      suppressed: 1,
      softCounted: 0,
    });
    expect((await suppression('mg1@example.org'))?.reason).toBe('hard bounce (mailgun): bounce 550 mailbox');
    expect(await (await post({ event: 'complained', id: 'c1', recipient: 'mg2@example.org' })).json()).toMatchObject({
      suppressed: 1,
    });
    expect(await (await post(failed('mg3@example.org', 'temporary'))).json()).toMatchObject({ softCounted: 1 });
    expect(await (await post({ event: 'delivered', id: 'd1', recipient: 'mg4@example.org' })).json()).toMatchObject({
      received: 0,
    });
  });

  it('refuses a wrong signature, a stale one and a replayed token', async () => {
    expect((await post(failed('mg5@example.org', 'permanent'), { key: 'another-signing-key-0000' })).status).toBe(401);
    expect((await post(failed('mg5@example.org', 'permanent'), { timestamp: seconds() - 7200 })).status).toBe(401);
    expect(await suppression('mg5@example.org')).toBeUndefined();
    const token = 'replayed-token-0123456789';
    expect((await post(failed('mg6@example.org', 'temporary'), { token })).status).toBe(200);
    expect((await post(failed('mg6@example.org', 'temporary'), { token })).status).toBe(409);
  });
});

describe('Postmark webhooks (HTTP Basic in the webhook URL)', () => {
  const credentials = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const post = (payload: unknown, authorization = credentials(POSTMARK.user, POSTMARK.password)) =>
    postJson('/webhooks/bounces/postmark', JSON.stringify(payload), { authorization });
  const report = (fields: Record<string, unknown>) => ({
    RecordType: 'Bounce',
    MessageStream: 'outbound',
    ID: Math.floor(Math.random() * 1e9),
    TypeCode: 1,
    Name: 'Hard bounce',
    Tag: '',
    MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
    ServerID: 23,
    Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
    Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
    From: 'newsletter@harbourgazette.example',
    BouncedAt: new Date(now).toISOString(),
    DumpAvailable: true,
    Inactive: true,
    CanActivate: true,
    Subject: 'The Daily Digest',
    ...fields,
  });

  it('a hard bounce and a spam complaint suppress, a soft bounce counts, other record types are ignored', async () => {
    expect(await (await post(report({ Type: 'HardBounce', Email: 'pm1@example.org' }))).json()).toMatchObject({
      suppressed: 1,
    });
    expect((await suppression('pm1@example.org'))?.reason).toMatch(
      /^hard bounce \(postmark\): HardBounce The server was unable/,
    );
    expect(
      await (
        await post(
          report({ RecordType: 'SpamComplaint', Type: 'SpamComplaint', TypeCode: 100001, Email: 'pm2@example.org' }),
        )
      ).json(),
    ).toMatchObject({ suppressed: 1 });
    expect(
      await (await post(report({ Type: 'SoftBounce', TypeCode: 4096, Email: 'pm3@example.org' }))).json(),
    ).toMatchObject({ softCounted: 1 });
    expect(
      await (await post(report({ Type: 'AutoResponder', TypeCode: 64, Email: 'pm4@example.org' }))).json(),
    ).toMatchObject({ received: 0 });
    expect(
      await (await post({ RecordType: 'Delivery', ID: 1, Type: 'Delivery', Email: 'pm4@example.org' })).json(),
    ).toMatchObject({ received: 0 });
  });

  it('refuses missing or wrong credentials', async () => {
    const payload = report({ Type: 'HardBounce', Email: 'pm9@example.org' });
    expect((await post(payload, '')).status).toBe(401);
    expect((await post(payload, credentials(POSTMARK.user, 'wrong-password-0123456789abcdef'))).status).toBe(401);
    expect((await post(payload, credentials('someone', POSTMARK.password))).status).toBe(401);
    expect(await suppression('pm9@example.org')).toBeUndefined();
  });
});

describe('provider webhooks switched off', () => {
  it('answer 404 until their setting is given', async () => {
    const redis = await openTestRedis('bounces-off');
    const closed = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
      logger: silentLogger,
    });
    try {
      for (const path of [
        '/webhooks/bounces',
        '/webhooks/bounces/ses',
        '/webhooks/bounces/sendgrid',
        '/webhooks/bounces/mailgun',
        '/webhooks/bounces/postmark',
      ]) {
        const response = await createHttpApp(closed).request(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        expect(response.status, path).toBe(404);
      }
    } finally {
      await closed.close();
      await redis.cleanup();
    }
  });
});

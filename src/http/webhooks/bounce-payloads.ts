/**
 * The bounce reports each source sends, parsed at the edge with zod into `BounceEvent`s: our own signed feed, and
 * the native webhooks of Amazon SES (through SNS), SendGrid, Mailgun and Postmark, in the shapes their documentation
 * gives. Events that are not bounces or complaints (deliveries, opens, clicks: we never ask for those) are ignored;
 * a malformed report is refused whole, naming the field, so nothing of it is applied.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError, formatZodIssues } from '../../errors.js';
import type { BounceEvent } from '../../subscribers/record-bounces.js';
import { EmailSchema } from '../../subscribers/subscriber.js';

/** Most events one report may carry. */
export const MAX_EVENTS_PER_REPORT = 1000;

function parseWith<S extends z.ZodType>(schema: S, value: unknown, source: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AppError('input_invalid', `${source} report: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

/** Parses a JSON body, or throws `input_invalid`. */
export function parseJsonBody(body: Buffer, source: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AppError('input_invalid', `${source} report: the body is not JSON`);
  }
}

const ReasonSchema = z.string().max(2000).default('');

/** One event of our own feed. */
export const OwnBounceEventSchema = z.object({
  email: EmailSchema,
  type: z.enum(['hard', 'soft', 'complaint']),
  reason: ReasonSchema,
});

/** Our own feed with several events: `{ "events": [ ... ] }` (a single event is the event object itself). */
export const OwnBounceReportSchema = z.object({
  events: z.array(OwnBounceEventSchema).min(1).max(MAX_EVENTS_PER_REPORT),
});

/** Events of our own signed feed (`POST /webhooks/bounces`): one event, or `{ "events": [ ... ] }`. */
export function parseOwnReport(value: unknown): BounceEvent[] {
  // Read by shape, so an error names the field of the form actually sent (`events.3.email`, or `email`).
  const hasEvents = typeof value === 'object' && value !== null && 'events' in value;
  const events = hasEvents
    ? parseWith(OwnBounceReportSchema, value, 'bounce').events
    : [parseWith(OwnBounceEventSchema, value, 'bounce')];
  return events.map((event) => ({ ...event, eventId: randomUUID(), source: 'webhook' }));
}

/** The SES notification inside an SNS message (`Message`, itself JSON): bounce or complaint. */
const SesRecipientSchema = z.object({
  emailAddress: EmailSchema,
  status: z.string().optional(),
  diagnosticCode: z.string().optional(),
});
export const SesNotificationSchema = z
  .object({
    notificationType: z.string().optional(),
    eventType: z.string().optional(),
    bounce: z
      .object({
        bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
        bounceSubType: z.string().default(''),
        bouncedRecipients: z.array(SesRecipientSchema).min(1).max(MAX_EVENTS_PER_REPORT),
        feedbackId: z.string().default(''),
      })
      .optional(),
    complaint: z
      .object({
        complainedRecipients: z
          .array(z.object({ emailAddress: EmailSchema }))
          .min(1)
          .max(MAX_EVENTS_PER_REPORT),
        complaintFeedbackType: z.string().optional(),
        feedbackId: z.string().default(''),
      })
      .optional(),
  })
  .refine((n) => (n.notificationType ?? n.eventType) !== undefined, {
    message: 'needs notificationType or eventType',
  });

/** Events of an SES notification; anything but Bounce and Complaint (Delivery, Send, ...) gives none. */
export function parseSesNotification(message: string, messageId: string): BounceEvent[] {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new AppError('input_invalid', 'SES report: Message is not JSON');
  }
  const notification = parseWith(SesNotificationSchema, json, 'SES');
  const kind = notification.notificationType ?? notification.eventType;
  if (kind === 'Bounce') {
    const bounce = notification.bounce;
    if (!bounce) throw new AppError('input_invalid', 'SES report: bounce: missing for a Bounce notification');
    const type = bounce.bounceType === 'Permanent' ? 'hard' : 'soft';
    return bounce.bouncedRecipients.map((recipient) => ({
      email: recipient.emailAddress,
      type,
      reason: [bounce.bounceType, bounce.bounceSubType, recipient.status, recipient.diagnosticCode]
        .filter(Boolean)
        .join(' '),
      eventId: `${messageId}:${recipient.emailAddress}`,
      source: 'ses',
    }));
  }
  if (kind === 'Complaint') {
    const complaint = notification.complaint;
    if (!complaint) throw new AppError('input_invalid', 'SES report: complaint: missing for a Complaint notification');
    return complaint.complainedRecipients.map((recipient) => ({
      email: recipient.emailAddress,
      type: 'complaint',
      reason: complaint.complaintFeedbackType ?? 'complaint',
      eventId: `${messageId}:${recipient.emailAddress}`,
      source: 'ses',
    }));
  }
  return [];
}

/** A SendGrid event (the body is an array of them). Only the fields we read are checked. */
export const SendGridEventSchema = z.object({
  event: z.string(),
  email: z.string(),
  type: z.string().optional(),
  reason: z.string().optional(),
  status: z.string().optional(),
  sg_event_id: z.string().optional(),
  timestamp: z.number().optional(),
});
export const SendGridReportSchema = z.array(SendGridEventSchema).min(1).max(MAX_EVENTS_PER_REPORT);

/**
 * Events of a SendGrid report: `bounce` (its `type` `bounce` is hard, `blocked` soft), `blocked` (soft) and
 * `spamreport` (complaint); `deferred`, `dropped` and the rest are SendGrid's own business and ignored.
 */
export function parseSendGridReport(value: unknown): BounceEvent[] {
  const report = parseWith(SendGridReportSchema, value, 'SendGrid');
  const events: BounceEvent[] = [];
  report.forEach((event, index) => {
    let type: BounceEvent['type'] | undefined;
    if (event.event === 'bounce') type = event.type === 'blocked' ? 'soft' : 'hard';
    else if (event.event === 'blocked') type = 'soft';
    else if (event.event === 'spamreport') type = 'complaint';
    if (!type) return;
    const email = EmailSchema.safeParse(event.email);
    if (!email.success)
      throw new AppError('input_invalid', `SendGrid report: ${index}.email: must be an email address`);
    events.push({
      email: email.data,
      type,
      reason: [event.status, event.reason].filter(Boolean).join(' '),
      eventId: event.sg_event_id ?? digestOf(event),
      source: 'sendgrid',
    });
  });
  return events;
}

/** A Mailgun webhook body: the signature and one event. */
export const MailgunReportSchema = z.object({
  signature: z.object({
    timestamp: z.string().regex(/^\d{1,12}$/, 'must be unix seconds'),
    token: z.string().min(10).max(200),
    signature: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex characters'),
  }),
  'event-data': z.object({
    event: z.string(),
    id: z.string().optional(),
    severity: z.string().optional(),
    recipient: z.string().optional(),
    reason: z.string().optional(),
    'delivery-status': z
      .object({
        code: z.union([z.number(), z.string()]).optional(),
        message: z.string().optional(),
        description: z.string().optional(),
      })
      .optional(),
  }),
});
export type MailgunReport = z.infer<typeof MailgunReportSchema>;

/** Parses a Mailgun body (its signature is checked by the caller before the events are used). */
export function parseMailgunReport(value: unknown): MailgunReport {
  return parseWith(MailgunReportSchema, value, 'Mailgun');
}

/** Events of a Mailgun report: `failed` (severity `permanent` hard, else soft) and `complained`. */
export function mailgunEvents(report: MailgunReport): BounceEvent[] {
  const data = report['event-data'];
  let type: BounceEvent['type'] | undefined;
  if (data.event === 'failed') type = data.severity === 'permanent' ? 'hard' : 'soft';
  else if (data.event === 'complained') type = 'complaint';
  if (!type) return [];
  const email = EmailSchema.safeParse(data.recipient);
  if (!email.success)
    throw new AppError('input_invalid', 'Mailgun report: event-data.recipient: must be an email address');
  const status = data['delivery-status'];
  return [
    {
      email: email.data,
      type,
      reason: [data.reason, status?.code, status?.message, status?.description].filter(Boolean).join(' '),
      eventId: data.id ?? report.signature.token,
      source: 'mailgun',
    },
  ];
}

/** A Postmark bounce or spam-complaint webhook body. */
export const PostmarkReportSchema = z.object({
  RecordType: z.string(),
  ID: z.union([z.number(), z.string()]),
  Type: z.string(),
  Email: z.string(),
  Description: z.string().optional(),
  Details: z.string().optional(),
});

const POSTMARK_HARD = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);
const POSTMARK_SOFT = new Set(['Transient', 'SoftBounce', 'DnsError', 'InboxFull', 'Blocked']);
const POSTMARK_COMPLAINT = new Set(['SpamComplaint', 'SpamNotification']);

/** Events of a Postmark report: hard bounces, soft ones, and spam complaints; other types are ignored. */
export function parsePostmarkReport(value: unknown): BounceEvent[] {
  const report = parseWith(PostmarkReportSchema, value, 'Postmark');
  if (report.RecordType !== 'Bounce' && report.RecordType !== 'SpamComplaint') return [];
  const type = POSTMARK_HARD.has(report.Type)
    ? 'hard'
    : POSTMARK_SOFT.has(report.Type)
      ? 'soft'
      : POSTMARK_COMPLAINT.has(report.Type)
        ? 'complaint'
        : undefined;
  if (!type) return [];
  const email = EmailSchema.safeParse(report.Email);
  if (!email.success) throw new AppError('input_invalid', 'Postmark report: Email: must be an email address');
  return [
    {
      email: email.data,
      type,
      reason: [report.Type, report.Description, report.Details].filter(Boolean).join(' '),
      eventId: String(report.ID),
      source: 'postmark',
    },
  ];
}

function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

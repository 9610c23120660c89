/**
 * Transactional messages (a sign-up confirmation, a welcome, a test send): one generic layout
 * (`emails/transactional.mjml` and `.txt`) filled with a heading, paragraphs and an optional button, then built by
 * the one message composer (`prepareMessage`), so they are encoded exactly like digests.
 *
 * The MJML is compiled once per process for each distinct content, with markers where the personal values go (the
 * button's URL, the reader's links); a message then costs a string replacement and the MIME encoding, not an MJML
 * compilation, so importing thousands of readers who each need a confirmation stays cheap.
 */
import { randomBytes } from 'node:crypto';
import type { Config, Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import { escapeHtml } from '../escape-html.js';
import { RecipientSlot, type SlottedText } from '../digests/digest.js';
import { loadMessageTemplates } from '../digests/load-digest-templates.js';
import { compactHtml, compileMjml, finishText } from '../digests/render-digest.js';
import type { SubscriberLinks } from '../subscribers/tokens.js';
import { prepareMessage, type MessageRecipient, type RenderedMessage } from './compose-message.js';

/** What a transactional message says. */
export interface TransactionalContent {
  subject: string;
  /** The line mail clients show after the subject. */
  preheader: string;
  heading: string;
  paragraphs: string[];
  /** One button, e.g. "Confirm my subscription"; its URL is shown in full under it too. */
  action?: { label: string; url: string };
  /** Smaller print after the button. @defaultValue [] */
  afterword?: string[];
}

/** Input of `composeTransactionalMessage`. */
export interface ComposeTransactionalInput {
  /** Visible part of the Message-ID, e.g. `confirmation` (see `PrepareMessageInput.messageKey`). */
  messageKey: string;
  /** Hidden part of the Message-ID: keeps it stable across retries of one job and distinct between jobs. */
  messageSeed?: string;
  content: TransactionalContent;
  recipient: MessageRecipient;
  site: Config['site'];
  /** From mailbox; defaults to the newsletter's, then the site's. */
  from?: string;
  replyTo?: string;
  secret: string;
  /** A newsletter's message: adds its list headers and the reader's unsubscribe and preferences links. */
  list?: { newsletter: Pick<Newsletter, 'id' | 'name' | 'from' | 'replyTo'>; links: SubscriberLinks };
  now: Date;
}

/** The view the transactional templates read (every key present, so strict templates never miss one). */
interface TransactionalView {
  siteName: string;
  siteUrl: string;
  siteHost: string;
  postalAddress: string;
  heading: string;
  preheader: string;
  paragraphs: string[];
  action: { label: string; url: string } | null;
  afterword: string[];
  links: SubscriberLinks | null;
}

const NONCE = randomBytes(9).toString('hex');
const ACTION_MARKER = `lpaction${NONCE}`;
const SLOT_MARKERS: Record<RecipientSlot, string> = {
  unsubscribeUrl: `lpslot${NONCE}unsubscribeUrl`,
  preferencesUrl: `lpslot${NONCE}preferencesUrl`,
};
const SLOT_PATTERN = new RegExp(`lpslot${NONCE}(${Object.values(RecipientSlot).join('|')})`);

/** Compiled bodies kept per process (distinct contents: a few per newsletter). */
const MAX_CACHED_BODIES = 64;
const bodies = new Map<string, Promise<{ html: string; text: string }>>();

function renderBody(view: TransactionalView): Promise<{ html: string; text: string }> {
  const key = JSON.stringify(view);
  const cached = bodies.get(key);
  if (cached) return cached;
  const templates = loadMessageTemplates<TransactionalView>('transactional');
  const rendered = (async () => ({
    html: compactHtml(await compileMjml(templates.mjml(view), templates.mjmlPath)),
    text: finishText(templates.text(view)),
  }))();
  bodies.set(key, rendered);
  rendered.catch(() => bodies.delete(key));
  while (bodies.size > MAX_CACHED_BODIES) {
    const oldest = bodies.keys().next().value;
    if (oldest === undefined) break;
    bodies.delete(oldest);
  }
  return rendered;
}

function toSlotted(body: string): SlottedText {
  return body.split(SLOT_PATTERN);
}

/**
 * Builds one transactional message for one reader through the message composer. A confirmation carries no list
 * headers (the reader is not on a list yet); a newsletter's message (`list`) carries List-Id and one-click
 * List-Unsubscribe like a digest.
 */
export async function composeTransactionalMessage(input: ComposeTransactionalInput): Promise<RenderedMessage> {
  const { content, site, list } = input;
  if (JSON.stringify(content).includes(NONCE)) {
    throw new AppError('template_invalid', 'the message content collides with a template marker');
  }
  const view: TransactionalView = {
    siteName: site.name,
    siteUrl: site.baseUrl.replace(/\/+$/, ''),
    siteHost: new URL(site.baseUrl).host,
    postalAddress: site.postalAddress,
    heading: content.heading,
    preheader: content.preheader,
    paragraphs: content.paragraphs,
    action: content.action ? { label: content.action.label, url: ACTION_MARKER } : null,
    afterword: content.afterword ?? [],
    links: list ? SLOT_MARKERS : null,
  };
  const body = await renderBody(view);
  const actionUrl = content.action?.url ?? '';
  const prepared = prepareMessage({
    messageKey: input.messageKey,
    messageSeed: input.messageSeed,
    subject: content.subject,
    text: toSlotted(body.text.split(ACTION_MARKER).join(actionUrl)),
    html: toSlotted(body.html.split(ACTION_MARKER).join(escapeHtml(actionUrl))),
    from: input.from ?? list?.newsletter.from ?? site.from,
    replyTo: input.replyTo ?? list?.newsletter.replyTo ?? site.replyTo,
    site,
    secret: input.secret,
    list: list?.newsletter,
  });
  return prepared.renderWithLinks(
    input.recipient,
    list?.links ?? { unsubscribeUrl: '', preferencesUrl: '' },
    input.now,
  );
}

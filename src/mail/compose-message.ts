/**
 * The pre-built digest message: the hot path of a large send. `prepareDigestMessage` builds the whole MIME message
 * once per digest (headers encoded and folded, both body parts quoted-printable), leaving open only what differs per
 * reader. `render` then concatenates pre-encoded buffers with the few per-recipient pieces: To, Date, Message-ID,
 * List-Unsubscribe and the two personal links in each body part.
 *
 * The body parts are encoded segment by segment: every literal segment and every slot value is quoted-printable on
 * its own and they are joined with soft line breaks (`=\r\n`, which decode to nothing), so each piece starts at column
 * 0 and no line exceeds 76 characters whatever the value. The boundary contains `=_`, which quoted-printable output
 * never contains, so no content can collide with it.
 *
 * Privacy: two readers' copies differ only in To, Date, Message-ID, List-Unsubscribe and the lines carrying their
 * token. No other header (no X-anything) names the reader or the digest.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Config, Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import { RecipientSlot, type Digest, type DigestBody, type InlineImage, type SlottedText } from '../digests/digest.js';
import { escapeHtml, fillSlots, isRecipientSlot } from '../digests/fill-slots.js';
import { replaceInlineImageSources } from '../digests/image-store.js';
import { linksForToken, subscriberLinks, type SubscriberLinks } from '../subscribers/tokens.js';
import {
  CRLF,
  QP_SOFT_BREAK,
  asciiAddress,
  encodeDisplayName,
  encodeHeaderText,
  encodeQpSegment,
  formatRfc5322Date,
  headerLine,
  needsSoftBreak,
  parseMailbox,
  tokenHeaderLine,
} from './compose-mime.js';
import { relatedWrapper } from './inline-image-parts.js';
import { RelaxedBodyHasher, type CanonicalPiece } from './sign-dkim.js';

/** Input of `prepareDigestMessage`. */
export interface PrepareDigestMessageInput {
  digest: Pick<Digest, 'id' | 'newsletterId'>;
  body: DigestBody;
  newsletter: Newsletter;
  site: Config['site'];
  /** The subscriber-token secret (tokens and Message-IDs are keyed from it). */
  secret: string;
  /** Bytes of the body's embedded images by SHA-256 (`body.images.inline`); unused without them. @defaultValue empty */
  imageBytes?: ReadonlyMap<string, Buffer>;
}

/**
 * Input of `prepareMessage`, the one composer every kind of message goes through (digests, confirmations, welcome
 * messages, test sends): what the message says and who sends it. The body parts may leave the two personal links open.
 */
export interface PrepareMessageInput {
  /**
   * Names the message in its Message-ID (`<${messageKey}.${mac}@domain>`) and seeds its multipart boundary: a digest
   * id, or a kind such as `confirmation`. Characters a-z, 0-9, `_` and `-`.
   */
  messageKey: string;
  /**
   * Further input of the Message-ID's MAC, not shown (e.g. the time of a sign-up request), so two messages of one
   * kind to one reader get different ids while a retry of either keeps its own. @defaultValue none
   */
  messageSeed?: string;
  subject: string;
  /** Plain-text part; literal segments alternate with `unsubscribeUrl` / `preferencesUrl` slots. */
  text: SlottedText;
  /** HTML part, slotted likewise (slot values are HTML-escaped when filled). */
  html: SlottedText;
  /** The From mailbox (`"Name" <address>`). */
  from: string;
  replyTo?: string;
  site: Pick<Config['site'], 'mailDomain' | 'unsubscribeMailbox'>;
  /** The secret Message-IDs are keyed from. */
  secret: string;
  /**
   * The newsletter the message belongs to: adds `List-Id`, `List-Unsubscribe` (the reader's one-click link) and
   * `List-Unsubscribe-Post`. Absent for a message that is not part of a list (a sign-up confirmation).
   */
  list?: Pick<Newsletter, 'id' | 'name'>;
  /**
   * Images the HTML shows by `cid:` (a digest with embedded images), and their bytes by SHA-256: the HTML part becomes
   * a multipart/related of the HTML and the images. @defaultValue none
   */
  inlineImages?: { images: readonly InlineImage[]; bytes: ReadonlyMap<string, Buffer> };
}

/** Who one copy is for. */
export interface MessageRecipient {
  id: number;
  email: string;
}

/** One reader's finished message. */
export interface RenderedMessage {
  /** The complete RFC 5322 message, CRLF line ends, 7-bit (joined from `chunks` when first read). */
  readonly raw: Buffer;
  /**
   * The same bytes in order: the frozen pieces every reader shares and this reader's values. A mailer that writes
   * them as they are sends the message without joining (copying) it.
   */
  readonly chunks: readonly Buffer[];
  envelope: { from: string; to: string };
  /** The Message-ID header value, angle brackets included; the same for every retry of this reader's copy. */
  messageId: string;
  /**
   * SHA-256 of the body in DKIM's relaxed canonical form (RFC 6376 §3.4.4), computed when first read: the part every
   * reader shares is canonicalized and hashed once per prepared message (see `bodyHashing`).
   */
  readonly relaxedBodyHash: Buffer;
}

/** A message built once and rendered per reader with their own links. */
export interface PreparedMessage {
  /** A copy for the reader with the given personal links (previews use a placeholder token). */
  renderWithLinks(recipient: MessageRecipient, links: SubscriberLinks, now: Date): RenderedMessage;
  /** The envelope sender (bare address of From). */
  readonly envelopeFrom: string;
}

/** A digest's message, built once, rendered per reader. */
export interface DigestMessageTemplate extends PreparedMessage {
  /** The reader's copy with their signed unsubscribe and preferences links. */
  render(recipient: MessageRecipient, now: Date): RenderedMessage;
}

/** Per-recipient pieces, by position in the pre-built message. */
const Hole = {
  to: 0,
  date: 1,
  messageId: 2,
  listUnsubscribe: 3,
  textUnsubscribe: 4,
  textPreferences: 5,
  htmlUnsubscribe: 6,
  htmlPreferences: 7,
} as const;
type Hole = (typeof Hole)[keyof typeof Hole];
const HOLE_COUNT = 8;

const PART_HOLES: Record<'text' | 'html', Record<RecipientSlot, Hole>> = {
  text: { unsubscribeUrl: Hole.textUnsubscribe, preferencesUrl: Hole.textPreferences },
  html: { unsubscribeUrl: Hole.htmlUnsubscribe, preferencesUrl: Hole.htmlPreferences },
};

/** Longest personal URL accepted: keeps List-Unsubscribe on one line well under 998 octets. */
const MAX_LINK_LENGTH = 900;

const MESSAGE_KEY = /^[a-z0-9_-]{1,80}$/;

/** Builds a stable, opaque Message-ID key from the token secret (a different key from the tokens' own). */
function messageIdKey(secret: string): Buffer {
  return createHmac('sha256', secret).update('letterpress:message-id').digest();
}

function messageIdWith(key: Buffer, messageKey: string, subscriberId: number, mailDomain: string, seed = ''): string {
  const input = seed === '' ? `${messageKey}:${subscriberId}` : `${messageKey}:${seed}:${subscriberId}`;
  const mac = createHmac('sha256', key).update(input).digest('hex').slice(0, 24);
  return `<${messageKey}.${mac}@${mailDomain}>`;
}

/**
 * The Message-ID of one reader's copy of a digest: `<${digestId}.${mac}@${mailDomain}>`, where the 96-bit MAC hides
 * the subscriber id and keeps the id stable across retries.
 */
export function digestMessageId(secret: string, digestId: string, subscriberId: number, mailDomain: string): string {
  return messageIdWith(messageIdKey(secret), digestId, subscriberId, asciiDomain(mailDomain));
}

function asciiDomain(domain: string): string {
  return asciiAddress(`x@${domain}`).slice(2);
}

/** The multipart boundary of a digest: derived from its id, containing `=_` so no quoted-printable line can match. */
export function digestBoundary(digestId: string): string {
  return `=_lp_${createHash('sha256').update(digestId).digest('hex').slice(0, 28)}`;
}

function assertSlotted(text: SlottedText, part: string): void {
  if (text.length % 2 === 0) throw new AppError('template_invalid', `message ${part} part is not a slotted text`);
  for (let i = 1; i < text.length; i += 2) {
    if (!isRecipientSlot(text[i])) throw new AppError('template_invalid', `message ${part} part has an unknown slot`);
  }
}

/** Appends a body part's encoded pieces: literal buffers and holes, with soft breaks wherever a line continues. */
function pushEncodedPart(pieces: (Buffer | Hole)[], text: SlottedText, holes: Record<RecipientSlot, Hole>): void {
  // Encoded items in order, empty literals dropped; a hole stands for a value that neither starts nor ends a line.
  const items: (string | Hole)[] = [];
  for (let i = 0; i < text.length; i += 1) {
    if (i % 2 === 0) {
      const encoded = encodeQpSegment(text[i] ?? '');
      if (encoded !== '') items.push(encoded);
    } else {
      items.push(holes[text[i] as RecipientSlot]);
    }
  }
  let previous: string | undefined;
  for (const item of items) {
    const sample = typeof item === 'string' ? item : 'x';
    if (previous !== undefined && needsSoftBreak(previous, sample)) pieces.push(Buffer.from(QP_SOFT_BREAK, 'ascii'));
    pieces.push(typeof item === 'string' ? Buffer.from(item, 'ascii') : item);
    previous = sample;
  }
  if (previous !== undefined && !previous.endsWith(CRLF)) pieces.push(Buffer.from(CRLF, 'ascii'));
}

/** Merges adjacent buffers so `render` concatenates as few pieces as possible. */
function mergeBuffers(pieces: (Buffer | Hole)[]): (Buffer | Hole)[] {
  const merged: (Buffer | Hole)[] = [];
  let run: Buffer[] = [];
  for (const piece of pieces) {
    if (Buffer.isBuffer(piece)) {
      run.push(piece);
    } else {
      if (run.length > 0) merged.push(Buffer.concat(run));
      run = [];
      merged.push(piece);
    }
  }
  if (run.length > 0) merged.push(Buffer.concat(run));
  return merged;
}

/**
 * A personal link as headers and bodies carry it: a link with anything but printable ASCII (a Unicode `baseUrl`) is
 * written as the WHATWG URL parser writes it, host in punycode and path percent-encoded, never as raw bytes.
 */
function checkLink(url: string): string {
  let link = url;
  if (!/^[\x21-\x7e]*$/.test(link)) {
    try {
      link = new URL(link).href;
    } catch {
      throw new AppError('input_invalid', 'a personal link is not a URL');
    }
  }
  if (link.length > MAX_LINK_LENGTH || /[\s<>"]/.test(link)) {
    throw new AppError('input_invalid', 'a personal link is too long or contains characters a header cannot carry');
  }
  return link;
}

const HEADER_END = Buffer.from('\r\n\r\n', 'ascii');

/**
 * The relaxed body hash of one reader's copy, cheaply: the body up to the first personal value is the same for every
 * reader, so its hash state is computed once and copied (`Hash.copy()`); every later frozen piece is canonicalized
 * once and only hashed per reader; the reader's own values are canonicalized as they come. Nothing is computed until
 * the first copy asks (a message that is not signed pays nothing).
 */
function bodyHashing(frozen: readonly (Buffer | Hole)[]): (values: readonly Buffer[]) => Buffer {
  let prepared: { prefix: RelaxedBodyHasher; rest: (CanonicalPiece | Hole)[] } | undefined;
  const prepare = () => {
    const start = frozen.findIndex((piece) => Buffer.isBuffer(piece) && piece.includes(HEADER_END));
    const first = frozen[start] as Buffer;
    const body = [first.subarray(first.indexOf(HEADER_END) + HEADER_END.length), ...frozen.slice(start + 1)];
    const prefix = RelaxedBodyHasher.create();
    let index = 0;
    for (; index < body.length && Buffer.isBuffer(body[index]); index += 1) prefix.write(body[index] as Buffer);
    const rest = body
      .slice(index)
      .map((piece) => (Buffer.isBuffer(piece) ? RelaxedBodyHasher.canonicalize(piece) : piece));
    return { prefix, rest };
  };
  return (values) => {
    prepared ??= prepare();
    const hasher = prepared.prefix.copy();
    for (const piece of prepared.rest) {
      if (typeof piece === 'number') hasher.write(values[piece] as Buffer);
      else hasher.writeCanonical(piece);
    }
    return hasher.digest();
  };
}

/**
 * List-Unsubscribe: the one-click https link, and with an unsubscribe mailbox a `mailto:` whose Subject carries the
 * same token (the relay pipes it to `letterpress subscribers unsubscribe-mail`), each URI on a line of its own.
 */
function listUnsubscribeLine(unsubscribeUrl: string, mailbox: string | undefined): string {
  const https = tokenHeaderLine('List-Unsubscribe', `<${unsubscribeUrl}>`);
  if (!mailbox) return https;
  const token = unsubscribeUrl.slice(unsubscribeUrl.lastIndexOf('/') + 1);
  return `${https.slice(0, -CRLF.length)},${CRLF} <mailto:${mailbox}?subject=unsubscribe%20${token}>${CRLF}`;
}

/**
 * Builds a message once (see `PrepareMessageInput`). Headers: From, Reply-To (if configured), To, Subject, Date,
 * Message-ID, MIME-Version, then for a newsletter's message List-Id, List-Unsubscribe and List-Unsubscribe-Post, then
 * Content-Type (multipart/alternative of a text and an HTML part, both UTF-8 quoted-printable; with embedded images
 * the HTML part is a multipart/related of the HTML and its images).
 */
export function prepareMessage(input: PrepareMessageInput): PreparedMessage {
  const { messageKey, list } = input;
  if (!MESSAGE_KEY.test(messageKey)) throw new AppError('input_invalid', `message key "${messageKey}" is not valid`);
  assertSlotted(input.text, 'text');
  assertSlotted(input.html, 'html');
  const from = parseMailbox(input.from, 'from');
  const replyTo = input.replyTo ? parseMailbox(input.replyTo, 'replyTo') : undefined;
  const mailDomain = asciiDomain(input.site.mailDomain);
  const unsubscribeMailbox = input.site.unsubscribeMailbox ? asciiAddress(input.site.unsubscribeMailbox) : undefined;
  const boundary = digestBoundary(input.messageSeed ? `${messageKey}:${input.messageSeed}` : messageKey);
  const idKey = messageIdKey(input.secret);
  const ascii = (text: string) => Buffer.from(text, 'ascii');

  const pieces: (Buffer | Hole)[] = [];
  pieces.push(ascii(headerLine('From', from.header) + (replyTo ? headerLine('Reply-To', replyTo.header) : '')));
  pieces.push(Hole.to);
  pieces.push(ascii(headerLine('Subject', encodeHeaderText(input.subject))));
  pieces.push(Hole.date);
  pieces.push(Hole.messageId);
  pieces.push(ascii(headerLine('MIME-Version', '1.0')));
  if (list) {
    pieces.push(ascii(headerLine('List-Id', `${encodeDisplayName(list.name)} <${list.id}.${mailDomain}>`)));
    pieces.push(Hole.listUnsubscribe);
    pieces.push(ascii(headerLine('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click')));
    // Gmail's feedback loop groups complaints by this: the newsletter and the sender, never a reader.
    pieces.push(ascii(headerLine('Feedback-ID', `${list.id}:${mailDomain}`)));
  }
  pieces.push(
    ascii(
      headerLine('Content-Type', `multipart/alternative; boundary="${boundary}"`) +
        CRLF +
        `--${boundary}${CRLF}` +
        headerLine('Content-Type', 'text/plain; charset=utf-8') +
        headerLine('Content-Transfer-Encoding', 'quoted-printable') +
        CRLF,
    ),
  );
  pushEncodedPart(pieces, input.text, PART_HOLES.text);
  const related = relatedWrapper(
    digestBoundary(`${messageKey}/related`),
    input.inlineImages?.images ?? [],
    input.inlineImages?.bytes ?? new Map(),
  );
  pieces.push(
    ascii(
      `--${boundary}${CRLF}` +
        (related?.opening ?? '') +
        headerLine('Content-Type', 'text/html; charset=utf-8') +
        headerLine('Content-Transfer-Encoding', 'quoted-printable') +
        CRLF,
    ),
  );
  pushEncodedPart(pieces, input.html, PART_HOLES.html);
  pieces.push(ascii(`${related?.closing ?? ''}--${boundary}--${CRLF}`));
  const frozen = mergeBuffers(pieces);
  const frozenLength = frozen.reduce<number>((sum, piece) => sum + (Buffer.isBuffer(piece) ? piece.length : 0), 0);
  const hashBody = bodyHashing(frozen);

  const renderWithLinks = (recipient: MessageRecipient, links: SubscriberLinks, now: Date): RenderedMessage => {
    const to = asciiAddress(recipient.email);
    const messageId = messageIdWith(idKey, messageKey, recipient.id, mailDomain, input.messageSeed);
    const unsubscribeUrl = checkLink(links.unsubscribeUrl);
    const preferencesUrl = checkLink(links.preferencesUrl);
    const textUnsubscribe = ascii(encodeQpSegment(unsubscribeUrl));
    const textPreferences = ascii(encodeQpSegment(preferencesUrl));
    const htmlUnsubscribeValue = escapeHtml(unsubscribeUrl);
    const htmlPreferencesValue = escapeHtml(preferencesUrl);
    const values: Buffer[] = new Array<Buffer>(HOLE_COUNT);
    values[Hole.to] = ascii(tokenHeaderLine('To', to));
    values[Hole.date] = ascii(`Date: ${formatRfc5322Date(now)}${CRLF}`);
    values[Hole.messageId] = ascii(tokenHeaderLine('Message-ID', messageId));
    values[Hole.listUnsubscribe] = ascii(listUnsubscribeLine(unsubscribeUrl, unsubscribeMailbox));
    values[Hole.textUnsubscribe] = textUnsubscribe;
    values[Hole.textPreferences] = textPreferences;
    values[Hole.htmlUnsubscribe] =
      htmlUnsubscribeValue === unsubscribeUrl ? textUnsubscribe : ascii(encodeQpSegment(htmlUnsubscribeValue));
    values[Hole.htmlPreferences] =
      htmlPreferencesValue === preferencesUrl ? textPreferences : ascii(encodeQpSegment(htmlPreferencesValue));

    const list: Buffer[] = new Array<Buffer>(frozen.length);
    let length = frozenLength;
    for (let i = 0; i < frozen.length; i += 1) {
      const piece = frozen[i] as Buffer | Hole;
      if (Buffer.isBuffer(piece)) {
        list[i] = piece;
      } else {
        const value = values[piece] as Buffer;
        list[i] = value;
        length += value.length;
      }
    }
    let joined: Buffer | undefined;
    let bodyHash: Buffer | undefined;
    return {
      chunks: list,
      get raw() {
        joined ??= Buffer.concat(list, length);
        return joined;
      },
      get relaxedBodyHash() {
        bodyHash ??= hashBody(values);
        return bodyHash;
      },
      envelope: { from: from.address, to },
      messageId,
    };
  };

  return { envelopeFrom: from.address, renderWithLinks };
}

/**
 * Builds a digest's MIME message once (a newsletter message: with List-Id and one-click List-Unsubscribe); `render`
 * fills in each reader's signed links.
 */
export function prepareDigestMessage(input: PrepareDigestMessageInput): DigestMessageTemplate {
  const { digest, body, newsletter, site, secret } = input;
  const prepared = prepareMessage({
    messageKey: digest.id,
    subject: body.subject,
    text: body.text,
    html: body.html,
    from: newsletter.from ?? site.from,
    replyTo: newsletter.replyTo ?? site.replyTo,
    site,
    secret,
    list: newsletter,
    inlineImages: { images: body.images?.inline ?? [], bytes: input.imageBytes ?? new Map() },
  });
  return {
    ...prepared,
    render: (recipient, now) =>
      prepared.renderWithLinks(
        recipient,
        subscriberLinks(site, secret, { subscriberId: recipient.id, newsletterId: digest.newsletterId }),
        now,
      ),
  };
}

/** Formats `digest preview` can print. */
export type PreviewFormat = 'html' | 'text' | 'eml';

/** The sample reader of previews: no real subscriber has id 0 or this address. */
export const PREVIEW_RECIPIENT: MessageRecipient = { id: 0, email: 'reader@example.org' };

/** The placeholder token previews carry; it never verifies, so a preview link cannot unsubscribe anyone. */
export const PREVIEW_TOKEN = 'preview';

/**
 * Renders a digest for `letterpress digest preview`: the HTML or text part (embedded images as `data:` URLs, so a
 * browser shows them), or the whole message (`eml`) as the sample reader `reader@example.org` would receive it, with
 * placeholder links.
 */
export function renderPreview(input: PrepareDigestMessageInput, format: PreviewFormat, now: Date = new Date()): string {
  const links = linksForToken(input.site, PREVIEW_TOKEN);
  if (format === 'html') {
    const html = fillSlots(input.body.html, {
      unsubscribeUrl: escapeHtml(links.unsubscribeUrl),
      preferencesUrl: escapeHtml(links.preferencesUrl),
    });
    // A browser shows the preview without the message around it: the images go inline as data: URLs.
    return replaceInlineImageSources(html, input.body.images?.inline ?? [], (image) => {
      const bytes = input.imageBytes?.get(image.sha256);
      return bytes ? `data:${image.contentType};base64,${bytes.toString('base64')}` : undefined;
    });
  }
  if (format === 'text') return fillSlots(input.body.text, links);
  return prepareDigestMessage(input).renderWithLinks(PREVIEW_RECIPIENT, links, now).raw.toString('utf8');
}

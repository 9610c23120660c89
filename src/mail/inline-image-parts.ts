/**
 * Embedded images in the digest message: when a digest carries its images (the `embedded` policy), the HTML part of
 * the multipart/alternative becomes a multipart/related (RFC 2387) holding the HTML first and then one base64 part per
 * image, each with the Content-ID the HTML's `cid:` URLs name. Built once per digest like the rest of the message: the
 * per-reader path never touches these bytes.
 */
import type { InlineImage } from '../digests/digest.js';
import { imageExtension } from '../digests/image-store.js';
import { AppError } from '../errors.js';
import { CRLF, headerLine } from './compose-mime.js';

/** Longest base64 line (RFC 2045 6.8). */
const BASE64_LINE = 76;

/** The text around the HTML part that makes it a multipart/related with its images. */
export interface RelatedWrapper {
  /** Goes right after the alternative's boundary line, before the HTML part's own headers. */
  opening: string;
  /** Goes right after the HTML part's body: the image parts and the closing boundary. */
  closing: string;
}

function base64Lines(bytes: Buffer): string {
  const encoded = bytes.toString('base64');
  let lines = '';
  for (let i = 0; i < encoded.length; i += BASE64_LINE) lines += `${encoded.slice(i, i + BASE64_LINE)}${CRLF}`;
  return lines;
}

/**
 * The multipart/related wrapper for a digest's inline images, or undefined when it has none. `bytes` maps each
 * image's SHA-256 to its stored bytes; a missing or altered image is `image_unavailable` (the message would show a
 * broken image, so it is not built).
 */
export function relatedWrapper(
  boundary: string,
  images: readonly InlineImage[],
  bytes: ReadonlyMap<string, Buffer>,
): RelatedWrapper | undefined {
  if (images.length === 0) return undefined;
  const opening =
    headerLine('Content-Type', `multipart/related; type="text/html"; boundary="${boundary}"`) +
    CRLF +
    `--${boundary}${CRLF}`;
  let closing = '';
  for (const image of images) {
    const content = bytes.get(image.sha256);
    if (!content || content.length !== image.bytes) {
      throw new AppError('image_unavailable', `the embedded image ${image.sha256} is missing from the store`);
    }
    closing +=
      `--${boundary}${CRLF}` +
      headerLine('Content-Type', image.contentType) +
      headerLine('Content-Transfer-Encoding', 'base64') +
      headerLine('Content-ID', `<${image.cid}>`) +
      headerLine(
        'Content-Disposition',
        `inline; filename="${image.sha256.slice(0, 16)}.${imageExtension(image.contentType)}"`,
      ) +
      CRLF +
      base64Lines(content);
  }
  closing += `--${boundary}--${CRLF}`;
  return { opening, closing };
}

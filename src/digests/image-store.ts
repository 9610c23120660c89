/**
 * Frozen images in Redis, addressed by the SHA-256 of their bytes (`keys.frozenImage(sha256)`: a hash with `type` and
 * `data`). An embedded digest's images are written once when it is frozen and read back by the message composer and
 * the public `/images/<sha256>.<ext>` route. Content addressing makes writes idempotent and shares an image between
 * digests; an image is never changed once written.
 */
import { createHash } from 'node:crypto';
import type { RedisKeys, RedisClient } from '../redis.js';
import type { InlineImage } from './digest.js';

/** A stored image: its bytes and content type. */
export interface StoredImage {
  contentType: InlineImage['contentType'];
  bytes: Buffer;
}

const CONTENT_TYPES: ReadonlySet<string> = new Set<InlineImage['contentType']>(['image/jpeg', 'image/png']);

/** The SHA-256 of some bytes, in hex: a frozen image's address. */
export function imageSha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The file extension of a frozen image's public path. */
export function imageExtension(contentType: InlineImage['contentType']): 'jpg' | 'png' {
  return contentType === 'image/png' ? 'png' : 'jpg';
}

/** The public path of a frozen image (served by `letterpress serve` from our own origin). */
export function frozenImagePath(image: Pick<InlineImage, 'sha256' | 'contentType'>): string {
  return `/images/${image.sha256}.${imageExtension(image.contentType)}`;
}

/**
 * The HTML with each embedded image's `cid:` source replaced by the URL `urlFor` gives it: `frozenImagePath` for a web
 * copy served from our own origin, a `data:` URL for a preview. Sources of other images are left as they are.
 */
export function replaceInlineImageSources(
  html: string,
  images: readonly InlineImage[],
  urlFor: (image: InlineImage) => string | undefined,
): string {
  let result = html;
  for (const image of images) {
    const url = urlFor(image);
    if (url !== undefined) result = result.split(`cid:${image.cid}`).join(url);
  }
  return result;
}

/** Reads and writes frozen images. */
export class RedisImageStore {
  /** Uses the app's connection and key builder. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'frozenImage'>,
  ) {}

  /** Stores an image under the hash of its bytes (a no-op when it is already there) and returns that hash. */
  async put(image: StoredImage): Promise<string> {
    const sha256 = imageSha256(image.bytes);
    // One HSET writes both fields; the same bytes always hash to the same key, so a rewrite changes nothing.
    await this.redis.hset(this.keys.frozenImage(sha256), 'type', image.contentType, 'data', image.bytes);
    return sha256;
  }

  /** The image with this hash, or undefined (also for a record that is not an image we wrote). */
  async get(sha256: string): Promise<StoredImage | undefined> {
    if (!/^[a-f0-9]{64}$/.test(sha256)) return undefined;
    const [type, data] = await this.redis.hmgetBuffer(this.keys.frozenImage(sha256), 'type', 'data');
    const contentType = type?.toString('latin1');
    if (!data || !contentType || !CONTENT_TYPES.has(contentType)) return undefined;
    return { contentType: contentType as StoredImage['contentType'], bytes: data };
  }
}

/** The bytes of a digest's inline images by SHA-256; images missing from the store are left out of the map. */
export async function readInlineImageBytes(
  store: Pick<RedisImageStore, 'get'>,
  images: readonly Pick<InlineImage, 'sha256'>[],
): Promise<Map<string, Buffer>> {
  const found = await Promise.all(images.map((image) => store.get(image.sha256)));
  const bytes = new Map<string, Buffer>();
  images.forEach((image, index) => {
    const stored = found[index];
    if (stored) bytes.set(image.sha256, stored.bytes);
  });
  return bytes;
}

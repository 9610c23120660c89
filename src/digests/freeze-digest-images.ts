/**
 * Applying a newsletter's image policy when a digest is frozen. `remote` keeps the articles' image URLs (the same for
 * every reader); `none` drops the images; `embedded` fetches each distinct image once, resizes and recompresses it
 * within an equal share of the digest's byte budget, stores it by content hash, and points the article at `cid:` so
 * the message carries the image itself and opening it makes no network request. An image that cannot be fetched,
 * read or made to fit is left out and reported with its reason; the digest is still made.
 *
 * This runs once per digest, never per reader: the delivery worker only splices the frozen parts.
 */
import type { Article } from '../articles/article.js';
import type { Newsletter } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import { fetchPublicUrl, type FetchPublicUrlOptions } from '../net/fetch-public-url.js';
import type { Logger } from '../logger.js';
import type { DigestImages, InlineImage, OmittedImage } from './digest.js';
import type { StoredImage } from './image-store.js';
import type { ImageBudget, RecompressedImage } from './recompress-image.js';

/** An image as fetched. */
export interface FetchedImage {
  bytes: Buffer;
  contentType: string | null;
}

/** What embedding needs; the composition root provides it (see `App.freezeImages`). */
export interface FreezeDigestImagesDeps {
  /** Fetches one image, bounded in time and size: the seam where the network is reached. */
  fetchImage(url: string): Promise<FetchedImage>;
  /** Resizes and recompresses one image within a budget. */
  recompress(bytes: Buffer, budget: ImageBudget): Promise<RecompressedImage>;
  images: { put(image: StoredImage): Promise<string> };
  /** Bytes all embedded images of one digest may take together. */
  budgetBytes: number;
  logger: Pick<Logger, 'warn'>;
}

/** Input of `freezeDigestImages`. */
export interface FreezeDigestImagesInput {
  newsletter: Pick<Newsletter, 'id' | 'images'>;
  /** The Content-IDs are made on the site's mail domain. */
  site: { mailDomain: string };
  articles: Article[];
}

/** The articles as the digest renders them, and what became of their images. */
export interface FrozenDigestImages {
  articles: Article[];
  images: Omit<DigestImages, 'remote'>;
}

/**
 * `fetchImage` through the one guarded outbound fetch (public addresses only, every redirect checked, bounded in time
 * and decompressed size); failures are `image_unavailable` with the reason.
 */
export function guardedImageFetch(
  limits: Pick<FetchPublicUrlOptions, 'maxBytes' | 'timeoutMs' | 'allowPrivateAddresses'>,
): FreezeDigestImagesDeps['fetchImage'] {
  return async (url) => {
    try {
      const fetched = await fetchPublicUrl(url, {
        ...limits,
        noun: 'the image',
        headers: { accept: 'image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8', 'user-agent': 'Letterpress' },
      });
      return { bytes: fetched.body, contentType: fetched.headers['content-type'] ?? null };
    } catch (error) {
      if (!isAppError(error, 'fetch_failed')) throw error;
      throw new AppError('image_unavailable', `could not fetch the image: ${error.message}`);
    }
  };
}

/** Widest embedded image: twice the email's 600-pixel column. */
export const EMBEDDED_IMAGE_MAX_WIDTH = 1200;

/** Applies the newsletter's image policy to the articles (see the module comment). */
export async function freezeDigestImages(
  deps: FreezeDigestImagesDeps | undefined,
  input: FreezeDigestImagesInput,
): Promise<FrozenDigestImages> {
  const policy = input.newsletter.images;
  if (policy === 'remote') return { articles: input.articles, images: { policy, inline: [], omitted: [] } };
  if (policy === 'none') {
    const articles = input.articles.map(({ image: _dropped, ...article }) => article);
    return { articles, images: { policy, inline: [], omitted: [] } };
  }
  if (!deps) {
    throw new AppError(
      'config_invalid',
      `newsletter "${input.newsletter.id}" embeds images, but no image step is wired`,
    );
  }
  const sources = [...new Set(input.articles.flatMap((article) => (article.image ? [article.image.url] : [])))];
  const budget: ImageBudget = {
    maxWidth: EMBEDDED_IMAGE_MAX_WIDTH,
    maxBytes: Math.floor(deps.budgetBytes / Math.max(1, sources.length)),
  };
  const bySource = new Map<string, InlineImage>();
  const omitted: OmittedImage[] = [];
  // One image at a time: each decode can take tens of megabytes, and this runs once per digest.
  for (const sourceUrl of sources) {
    try {
      const inline = await embedOne(deps, sourceUrl, budget, input.site.mailDomain);
      bySource.set(sourceUrl, inline);
    } catch (error) {
      const reason = (error as Error).message;
      omitted.push({ sourceUrl, reason });
      deps.logger.warn({ newsletterId: input.newsletter.id, reason }, 'an article image was left out of the digest');
    }
  }
  const articles = input.articles.map((article) => {
    if (!article.image) return article;
    const inline = bySource.get(article.image.url);
    if (!inline) return { ...article, image: undefined };
    return { ...article, image: { ...article.image, url: `cid:${inline.cid}` } };
  });
  const inline = [...new Map([...bySource.values()].map((image) => [image.sha256, image])).values()];
  return { articles, images: { policy, inline, omitted } };
}

async function embedOne(
  deps: FreezeDigestImagesDeps,
  sourceUrl: string,
  budget: ImageBudget,
  mailDomain: string,
): Promise<InlineImage> {
  const fetched = await deps.fetchImage(sourceUrl);
  const image = await deps.recompress(fetched.bytes, budget);
  const sha256 = await deps.images.put({ contentType: image.contentType, bytes: image.bytes });
  return {
    // Derived from the content alone: the same for every reader and every digest that shows this image.
    cid: `${sha256.slice(0, 32)}@${mailDomain}`,
    sha256,
    contentType: image.contentType,
    width: image.width,
    height: image.height,
    bytes: image.bytes.length,
    sourceUrl,
  };
}

/**
 * Image policies when a digest is frozen: `embedded` fetches each image once from a real HTTP server, resizes it
 * with sharp within the budget and attaches it as a `cid:` part; `none` shows no image. What a reader's mail client
 * receives is read back with mailparser, and the privacy audit has nothing to report.
 */
import { simpleParser } from 'mailparser';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Article } from '../../src/articles/article.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDigest } from '../../src/digests/create-digest.js';
import {
  guardedImageFetch,
  freezeDigestImages,
  type FreezeDigestImagesDeps,
} from '../../src/digests/freeze-digest-images.js';
import { recompressImage } from '../../src/digests/recompress-image.js';
import { silentLogger } from '../../src/logger.js';
import { auditDigest } from '../../src/privacy/audit-digest.js';
import { makeArticle } from './sample-articles.js';
import { startImageServer, type ImageServer } from '../helpers/image-server.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

let app: App;
let server: ImageServer;
let cleanup: () => Promise<void>;
let deps: FreezeDigestImagesDeps;

const BUDGET = 400_000;

beforeAll(async () => {
  const redis = await openTestRedis('images');
  cleanup = redis.cleanup;
  app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
    logger: silentLogger,
  });
  server = await startImageServer();
  deps = {
    fetchImage: guardedImageFetch({ maxBytes: 2 * 1024 * 1024, timeoutMs: 10_000, allowPrivateAddresses: true }),
    recompress: recompressImage,
    images: app.images,
    budgetBytes: BUDGET,
    logger: silentLogger,
  };
});

afterAll(async () => {
  await server?.close();
  await app?.close();
  await cleanup();
});

function withImage(title: string, path?: string, minute = 0): Article {
  return makeArticle({
    title,
    publishedAt: new Date(Date.UTC(2025, 10, 27, 6, 59 - minute)).toISOString(),
    standfirst: `About ${title.toLowerCase()}.`,
    image: path ? { url: `${server.base}${path}`, alt: `Picture for ${title}` } : undefined,
  });
}

async function freezeDigest(images: 'embedded' | 'none', articles: Article[]) {
  const newsletter = { ...app.config.newsletters[0]!, images };
  const digest = await createDigest(
    {
      articles: { listPublishedSince: async () => articles },
      digests: app.digests,
      lastSentAt: async () => undefined,
      clock: () => new Date('2025-11-27T07:00:00Z'),
      freezeImages: (input) => freezeDigestImages(deps, input),
    },
    { newsletter, site: app.config.site },
  );
  return { digest, body: (await app.digests.getBody(digest.id))! };
}

describe('embedded images', () => {
  it('fetches each image once, fits it in its share of the budget, and leaves out what it cannot use, saying why', async () => {
    const articles = [
      withImage('Harbour at dawn', '/photo.jpg', 0),
      withImage('Harbour at dusk, same photo', '/photo.jpg', 1),
      withImage('The new logo', '/logo.png', 2),
      withImage('A vanished picture', '/missing.jpg', 3),
      withImage('A page, not a picture', '/page.jpg', 4),
      withImage('A picture far too large', '/huge.jpg', 5),
      withImage('No picture at all', undefined, 6),
    ];
    const frozen = await freezeDigestImages(deps, {
      newsletter: { id: 'daily', images: 'embedded' },
      site: app.config.site,
      articles,
    });

    expect(server.hits.get('/photo.jpg')).toBe(1);
    const share = Math.floor(BUDGET / 5);
    const [photo, logo] = frozen.images.inline;
    expect(frozen.images.inline).toHaveLength(2);
    expect(photo).toMatchObject({ contentType: 'image/jpeg', sourceUrl: `${server.base}/photo.jpg` });
    expect(photo!.width).toBeLessThanOrEqual(1200);
    expect(photo!.bytes).toBeLessThanOrEqual(share);
    // The transparent logo stays a PNG at its own size (never enlarged).
    expect(logo).toMatchObject({ contentType: 'image/png', width: 400, height: 200 });

    const stored = await app.images.get(photo!.sha256);
    expect(stored?.bytes.length).toBe(photo!.bytes);
    const metadata = await sharp(stored!.bytes).metadata();
    expect(metadata).toMatchObject({ format: 'jpeg', width: photo!.width, height: photo!.height });
    expect(metadata.exif).toBeUndefined();

    expect(frozen.images.omitted).toEqual([
      { sourceUrl: `${server.base}/missing.jpg`, reason: 'could not fetch the image: HTTP 404 Not Found' },
      { sourceUrl: `${server.base}/page.jpg`, reason: expect.stringMatching(/^not an image that can be read/) },
      {
        sourceUrl: `${server.base}/huge.jpg`,
        reason: 'could not fetch the image: the image is 3145728 bytes, over the 2097152-byte limit',
      },
    ]);
    expect(frozen.articles.map((a) => a.image?.url)).toEqual([
      `cid:${photo!.cid}`,
      `cid:${photo!.cid}`,
      `cid:${logo!.cid}`,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('sends the images inside every reader’s message as the same cid parts, and the audit finds nothing', async () => {
    const { digest, body } = await freezeDigest('embedded', [
      withImage('Harbour at dawn', '/photo.jpg', 0),
      withImage('The new logo', '/logo.png', 1),
    ]);
    expect(body.images?.policy).toBe('embedded');
    const message = await app.prepareMessage(digest, body);
    const now = new Date('2025-11-27T07:05:00Z');
    const copies = await Promise.all(
      [
        { id: 1, email: 'ada@example.org' },
        { id: 2, email: 'ben@example.net' },
      ].map((reader) => simpleParser(message.render(reader, now).raw, { skipImageLinks: true })),
    );
    for (const copy of copies) {
      expect(copy.attachments.map((a) => [a.contentType, a.cid, a.related])).toEqual(
        body.images!.inline.map((image) => [image.contentType, image.cid, true]),
      );
      const html = String(copy.html);
      for (const image of body.images!.inline) expect(html).toContain(`src="cid:${image.cid}"`);
      expect(html).not.toMatch(/<img[^>]+src="https?:/);
    }
    expect(copies[0]!.attachments.map((a) => a.checksum)).toEqual(copies[1]!.attachments.map((a) => a.checksum));

    const audit = await auditDigest(app, { digestId: digest.id });
    expect(audit).toMatchObject({ imagePolicy: 'embedded', isPassed: true, findings: [] });
  });

  it('shows no image at all under the none policy, and the audit finds nothing', async () => {
    // An article no earlier issue of the newsletter carried (two issues never repeat one).
    const { digest, body } = await freezeDigest('none', [withImage('Harbour at dusk', '/photo.jpg', 0)]);
    expect(body.images).toEqual({ policy: 'none', remote: [], inline: [], omitted: [] });
    expect(body.html.join('')).not.toContain('<img');
    expect((await auditDigest(app, { digestId: digest.id })).findings).toEqual([]);
  });

  it('never fetches an image from a private address in production settings: it is left out with the reason', async () => {
    const guarded = guardedImageFetch({ maxBytes: 2 * 1024 * 1024, timeoutMs: 10_000 });
    const before = server.hits.get('/photo.jpg') ?? 0;
    await expect(guarded(`${server.base}/photo.jpg`)).rejects.toMatchObject({
      code: 'image_unavailable',
      message: expect.stringContaining('loopback'),
    });
    expect(server.hits.get('/photo.jpg') ?? 0).toBe(before);
  });

  it('refuses an SVG: it can refer to other resources', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    );
    await expect(recompressImage(svg, { maxWidth: 1200, maxBytes: 100_000 })).rejects.toMatchObject({
      code: 'image_unavailable',
      message: expect.stringContaining('the format svg is not accepted'),
    });
  });
});

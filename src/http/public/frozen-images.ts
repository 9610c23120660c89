/**
 * `GET /images/<sha256>.<jpg|png>`: a frozen digest image from our own origin, so the web archive shows an embedded
 * digest's images without any other site. Only frozen images are served, by the hash of their bytes: the content of
 * an address never changes, so it is cached for a year as immutable.
 */
import { z } from 'zod';
import type { App } from '../../app.js';
import { imageExtension } from '../../digests/image-store.js';
import type { HttpApp } from '../http-env.js';
import { renderNoticePage } from './pages.js';

const ImageFileSchema = z.string().regex(/^[a-f0-9]{64}\.(?:jpg|png)$/);

/** Registers the frozen-image route. */
export function registerFrozenImageRoute(http: HttpApp, app: App): void {
  http.get('/images/:file', async (c) => {
    const file = ImageFileSchema.safeParse(c.req.param('file'));
    const [sha256 = '', extension] = file.success ? file.data.split('.') : [];
    const image = file.success ? await app.images.get(sha256) : undefined;
    if (!image || imageExtension(image.contentType) !== extension) {
      return c.html(renderNoticePage(app.config.site, 'Not found', 'There is no image at this address.'), 404);
    }
    const etag = `"${sha256}"`;
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    c.header('ETag', etag);
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    c.header('Content-Type', image.contentType);
    return c.body(new Uint8Array(image.bytes));
  });
}

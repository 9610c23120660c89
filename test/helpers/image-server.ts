/**
 * A real HTTP server on 127.0.0.1 serving the images an embedded digest fetches, generated with sharp: a large
 * photograph, a transparent logo, and the broken cases (404, an HTML page, a body over the size limit). It counts
 * the requests per path, so a test can check that each image is fetched once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

/** A running image server. */
export interface ImageServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Requests received, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** A noisy 1800 × 1200 photograph (noise compresses badly, so the budget matters) as JPEG. */
async function photograph(): Promise<Buffer> {
  return sharp({
    create: {
      width: 1800,
      height: 1200,
      channels: 3,
      background: '#3a6ea5',
      noise: { type: 'gaussian', mean: 120, sigma: 24 },
    },
  })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** A 400 × 200 logo with a transparent background, as PNG. */
async function logo(): Promise<Buffer> {
  const circle = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="200"><circle cx="100" cy="100" r="90" fill="#9b2c1f"/></svg>',
  );
  return sharp({ create: { width: 400, height: 200, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: circle }])
    .png()
    .toBuffer();
}

/** Starts the server. Paths: `/photo.jpg`, `/logo.png`, `/missing.jpg` (404), `/page.jpg` (HTML), `/huge.jpg`. */
export async function startImageServer(): Promise<ImageServer> {
  const files = new Map<string, { type: string; body: Buffer }>([
    ['/photo.jpg', { type: 'image/jpeg', body: await photograph() }],
    ['/logo.png', { type: 'image/png', body: await logo() }],
    ['/page.jpg', { type: 'text/html', body: Buffer.from('<!doctype html><p>Not an image</p>') }],
    ['/huge.jpg', { type: 'image/jpeg', body: Buffer.alloc(3 * 1024 * 1024, 0xff) }],
  ]);
  const hits = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const file = files.get(path);
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The guarded fetch every outbound HTTP request goes through: a URL (from a feed list, a CMS, a redirect) must not
 * reach anything on the inside. A local server stands in for both the outside world (when the test lets 127.0.0.1
 * through) and for the inside (when it does not); it counts the requests that reached it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addressRefusal, fetchPublicUrl, type ResolveHost } from '../../src/net/fetch-public-url.js';

let server: Server;
let port: number;
let requests: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push(request.url ?? '');
    const url = new URL(request.url ?? '/', 'http://local');
    const to = url.searchParams.get('to');
    if (url.pathname === '/redirect' && to) response.writeHead(302, { location: to }).end();
    else if (url.pathname === '/loop') response.writeHead(301, { location: '/loop' }).end();
    else if (url.pathname === '/gzip') {
      response
        .writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' })
        .end(gzipSync('harbour news '.repeat(100)));
    } else if (url.pathname === '/bomb') {
      // 20 MB of zeros, about 20 KB on the wire.
      response.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(20 * 1024 * 1024)));
    } else response.writeHead(200, { 'content-type': 'text/plain' }).end('inside');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  requests = [];
});

const limits = { maxBytes: 64 * 1024, timeoutMs: 10_000 };
/** Lets only the test server's address through, as if it were a public host. */
const onlyTestServer = { ...limits, allowPrivateAddresses: ['127.0.0.1/32'] };

async function refusal(url: string, options: Parameters<typeof fetchPublicUrl>[1] = limits): Promise<string> {
  try {
    await fetchPublicUrl(url, options);
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return 'fetched';
}

describe('fetching a public URL', () => {
  it('refuses inside addresses in every spelling, before connecting', async () => {
    const cases: [string, RegExp][] = [
      [`http://127.0.0.1:${port}/`, /127\.0\.0\.1 is a loopback address, not a public one/],
      [`http://0x7f.1:${port}/`, /127\.0\.0\.1 is a loopback address/],
      [`http://2130706433:${port}/`, /127\.0\.0\.1 is a loopback address/],
      [`http://[::1]:${port}/`, /::1 is a loopback address/],
      [`http://[::ffff:127.0.0.1]:${port}/`, /127\.0\.0\.1 is a loopback address/],
      ['http://0.0.0.0/', /0\.0\.0\.0 is the unspecified address/],
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local address/],
      ['http://[fe80::1]/', /fe80::1 is a link-local address/],
      ['http://10.1.2.3/', /10\.1\.2\.3 is a private address/],
      ['http://192.168.0.1/', /192\.168\.0\.1 is a private address/],
      ['http://[fd12:3456::1]/', /fd12:3456::1 is a unique-local address/],
      ['http://224.0.0.251/', /224\.0\.0\.251 is a multicast address/],
      ['http://100.100.100.200/', /carrier-grade NAT/],
      ['http://[2002:7f00:1::]/', /is a 6to4 address/],
    ];
    for (const [url, reason] of cases) {
      expect(await refusal(url), url).toMatch(new RegExp(`^fetch_failed: refused .*${reason.source}`));
    }
    expect(requests).toEqual([]);
  });

  it('refuses a host name that resolves to an inside address, and says how to allow it in development', async () => {
    const message = await refusal(`http://localhost:${port}/feed.xml`);
    expect(message).toMatch(/refused localhost: it resolves to (127\.0\.0\.1|::1) is a loopback address/);
    expect(message).toContain('FEED_ALLOW_PRIVATE_ADDRESSES=true');
    expect(requests).toEqual([]);
  });

  it('checks the address each connection actually resolves to, so DNS rebinding gets nowhere', async () => {
    // The name first answers with an allowed address, then, when the redirect comes back to it, with another.
    let lookups = 0;
    const rebinding: ResolveHost = (_name, callback) => {
      lookups += 1;
      callback(null, [{ address: lookups === 1 ? '127.0.0.1' : '127.0.0.53', family: 4 }]);
    };
    const url = `http://news.example:${port}/redirect?to=${encodeURIComponent(`http://news.example:${port}/feed`)}`;
    expect(await refusal(url, { ...onlyTestServer, resolveHost: rebinding })).toMatch(
      /refused news\.example: it resolves to 127\.0\.0\.53 is a loopback address/,
    );
    expect(lookups).toBe(2);
    expect(requests).toEqual([`/redirect?to=${encodeURIComponent(`http://news.example:${port}/feed`)}`]);
  });

  it('refuses a redirect to an inside address, to another scheme, or round in circles', async () => {
    const via = (to: string) => `http://127.0.0.1:${port}/redirect?to=${encodeURIComponent(to)}`;
    expect(await refusal(via('http://169.254.169.254/latest/meta-data/'), onlyTestServer)).toMatch(
      /refused 169\.254\.169\.254: 169\.254\.169\.254 is a link-local address/,
    );
    expect(await refusal(via(`http://127.0.0.2:${port}/`), onlyTestServer)).toMatch(/127\.0\.0\.2 is a loopback/);
    expect(await refusal(via(`http://[::1]:${port}/`), onlyTestServer)).toMatch(/::1 is a loopback/);
    expect(await refusal(via('file:///etc/passwd'), onlyTestServer)).toMatch(
      /a redirect uses file:; only http and https are fetched/,
    );
    expect(await refusal(`http://127.0.0.1:${port}/loop`, onlyTestServer)).toMatch(/more than 5 redirects/);
    expect(requests.filter((path) => path !== '/loop' && !path.startsWith('/redirect'))).toEqual([]);
  });

  it('follows redirects to allowed addresses and decompresses the body', async () => {
    const fetched = await fetchPublicUrl(
      `http://127.0.0.1:${port}/redirect?to=${encodeURIComponent('/gzip')}`,
      onlyTestServer,
    );
    expect(fetched.url).toBe(`http://127.0.0.1:${port}/gzip`);
    expect(fetched.body.toString()).toBe('harbour news '.repeat(100));
  });

  it('stops a compressed body at the size limit counted after decompression', async () => {
    expect(await refusal(`http://127.0.0.1:${port}/bomb`, onlyTestServer)).toMatch(
      /the response is over the 65536-byte limit/,
    );
  });

  it('refuses schemes other than http(s) and URLs that are none', async () => {
    expect(await refusal('gopher://127.0.0.1:6379/_INFO')).toMatch(/the URL uses gopher:; only http and https/);
    expect(await refusal('not a url')).toMatch(/the URL is not a valid URL/);
  });

  it('lets public addresses through, and inside ones only when allowed', () => {
    expect(addressRefusal('93.184.216.34')).toBeUndefined();
    expect(addressRefusal('2606:4700::1111')).toBeUndefined();
    expect(addressRefusal('::ffff:8.8.8.8')).toBeUndefined();
    expect(addressRefusal('127.0.0.1', true)).toBeUndefined();
    expect(addressRefusal('10.0.0.7', ['10.0.0.0/8'])).toBeUndefined();
    expect(addressRefusal('10.0.0.7', ['127.0.0.1/32'])).toMatch(/private address/);
  });
});

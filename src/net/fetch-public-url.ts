/**
 * The one way Letterpress fetches a URL from the outside world (feeds today; article images and anything else that
 * goes out over HTTP call it too), so a URL from a feed list, a CMS or a redirect cannot reach Redis, the cloud's
 * metadata service or anything else on the inside (SSRF).
 *
 * - Only http and https. Every address a connection goes to is checked as the socket is about to connect: the host
 *   name is resolved once per connection and the addresses it resolved to are the ones connected to, so DNS rebinding
 *   (a name that answers public, then private) cannot slip past. Address literals in any spelling (`0x7f.1`,
 *   `[::ffff:127.0.0.1]`) are checked too, and the socket's remote address once more after it connects.
 * - Only public unicast addresses pass: loopback, private, link-local, unique-local, carrier-grade NAT, multicast,
 *   broadcast, unspecified, reserved and documentation ranges, and IPv6 forms that embed an IPv4 address (mapped,
 *   6to4, NAT64, Teredo) are refused, unless the caller allows them (development and tests:
 *   `FEED_ALLOW_PRIVATE_ADDRESSES=true`).
 * - Redirects are followed by hand, at most `maxRedirects`, each hop checked like the first.
 * - One deadline covers every hop, the headers and the body; the body is counted after decompression (a gzip bomb
 *   stops at the limit) and abandoned as soon as it passes it, never buffered whole.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import ipaddr from 'ipaddr.js';
import { AppError, isAppError } from '../errors.js';

/** Resolves a host name to every address it has (`dns.lookup` with `all: true`). */
export type ResolveHost = (
  hostname: string,
  callback: (error: Error | null, addresses: LookupAddress[]) => void,
) => void;

/** Options of {@link fetchPublicUrl}. */
export interface FetchPublicUrlOptions {
  /** Largest body accepted, in bytes, counted after decompression. */
  maxBytes: number;
  /** Longest the whole exchange may take (every redirect, headers and body), in milliseconds. */
  timeoutMs: number;
  /**
   * Addresses let through although they are not public: `true` lets every address through (development and tests),
   * a list of CIDR ranges (`127.0.0.1/32`) only those. @defaultValue false
   */
  allowPrivateAddresses?: boolean | readonly string[];
  /** Redirects followed at most. @defaultValue 5 */
  maxRedirects?: number;
  /** Request headers, e.g. `accept` and `user-agent`. @defaultValue {} */
  headers?: Record<string, string>;
  /** What is being fetched, as error messages name it ("the feed is over the limit"). @defaultValue 'the response' */
  noun?: string;
  /** Host name resolution. @defaultValue dns.lookup with `all: true` */
  resolveHost?: ResolveHost;
  /**
   * Statuses outside 2xx answered as they are, with an empty body, instead of refused: `[304]` for a conditional GET.
   * @defaultValue []
   */
  passStatuses?: readonly number[];
}

/** A fetched document. */
export interface FetchedDocument {
  /** The URL the body came from, after redirects. */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Fetches a URL under the rules in the module comment. Throws `fetch_failed` with a one-line reason. */
export async function fetchPublicUrl(target: string, options: FetchPublicUrlOptions): Promise<FetchedDocument> {
  const exchange = new Exchange(options);
  try {
    return await exchange.run(target);
  } finally {
    exchange.finish();
  }
}

/** Why an address may not be connected to, or undefined when it may. */
export function addressRefusal(address: string, allow: boolean | readonly string[] = false): string | undefined {
  if (allow === true) return undefined;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return `${address} is not an IP address`;
  }
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  if (Array.isArray(allow) && allow.some((cidr) => isInRange(parsed, cidr))) return undefined;
  return `${parsed.toString()} is ${RANGE_WORDS[range] ?? `a ${range} address`}, not a public one`;
}

const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  carrierGradeNat: 'a carrier-grade NAT address',
  reserved: 'a reserved address',
};

function isInRange(address: ipaddr.IPv4 | ipaddr.IPv6, cidr: string): boolean {
  try {
    const [network, bits] = ipaddr.parseCIDR(cidr);
    return network.kind() === address.kind() && address.match(network, bits);
  } catch {
    return false;
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DECODERS: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/** One fetch: its deadline, what has arrived so far, and the hops. */
class Exchange {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private isTimedOut = false;
  private hasHeaders = false;
  private received = 0;
  private readonly noun: string;
  private readonly allow: boolean | readonly string[];

  constructor(private readonly options: FetchPublicUrlOptions) {
    this.noun = options.noun ?? 'the response';
    this.allow = options.allowPrivateAddresses ?? false;
    this.timer = setTimeout(() => {
      this.isTimedOut = true;
      this.controller.abort(new Error('timeout'));
    }, options.timeoutMs);
  }

  finish(): void {
    clearTimeout(this.timer);
  }

  async run(target: string): Promise<FetchedDocument> {
    let url = checkedUrl(target, 'the URL');
    const maxRedirects = this.options.maxRedirects ?? 5;
    for (let hop = 0; ; hop += 1) {
      const response = await this.request(url);
      const status = response.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        response.destroy();
        const location = response.headers.location;
        if (!location) throw fail(`HTTP ${status} without a Location header`);
        if (hop >= maxRedirects) throw fail(`more than ${maxRedirects} redirects`);
        url = checkedUrl(resolveLocation(location, url), 'a redirect');
        continue;
      }
      if (this.options.passStatuses?.includes(status)) {
        response.destroy();
        return { url: url.href, status, headers: response.headers, body: Buffer.alloc(0) };
      }
      if (status < 200 || status > 299) {
        response.destroy();
        throw fail(`HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`);
      }
      const declared = Number(response.headers['content-length'] ?? Number.NaN);
      if (Number.isFinite(declared) && declared > this.options.maxBytes) {
        response.destroy();
        throw fail(`${this.noun} is ${declared} bytes, over the ${this.options.maxBytes}-byte limit`);
      }
      return { url: url.href, status, headers: response.headers, body: await this.readBody(response) };
    }
  }

  /** Sends one GET and resolves with the response head; every address connected to is checked first. */
  private request(url: URL): Promise<IncomingMessage> {
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (ipaddr.isValid(literal)) {
      const refusal = addressRefusal(literal, this.allow);
      if (refusal) return Promise.reject(fail(`refused ${url.host}: ${refusal}${ALLOW_HINT}`));
    }
    return new Promise((resolve, reject) => {
      const transport = url.protocol === 'https:' ? https : http;
      const request = transport.request(
        url,
        {
          method: 'GET',
          headers: { 'accept-encoding': 'gzip, deflate, br', ...this.options.headers },
          agent: false,
          signal: this.controller.signal,
          lookup: this.guardedLookup(url.hostname),
        },
        (response) => {
          this.hasHeaders = true;
          const refusal = this.socketRefusal(response.socket);
          if (refusal) {
            response.destroy();
            reject(fail(refusal));
            return;
          }
          resolve(response);
        },
      );
      request.on('socket', (socket: Socket) => {
        socket.once('connect', () => {
          const refusal = this.socketRefusal(socket);
          if (refusal) request.destroy(fail(refusal));
        });
      });
      request.on('error', (error) => reject(this.explain(error, 'could not fetch')));
      request.end();
    });
  }

  /** `lookup` for the socket: resolves once, refuses the connection if any address is not allowed. */
  private guardedLookup(hostname: string) {
    const resolveHost: ResolveHost =
      this.options.resolveHost ?? ((name, callback) => dnsLookup(name, { all: true, verbatim: true }, callback));
    return (
      name: string,
      lookupOptions: { all?: boolean },
      callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
    ): void => {
      resolveHost(name, (error, addresses) => {
        if (error) return callback(error, []);
        if (addresses.length === 0) return callback(fail(`${hostname} has no address`), []);
        for (const { address } of addresses) {
          const refusal = addressRefusal(address, this.allow);
          if (refusal) return callback(fail(`refused ${hostname}: it resolves to ${refusal}${ALLOW_HINT}`), []);
        }
        if (lookupOptions.all) return callback(null, addresses);
        const [first] = addresses as [LookupAddress];
        return callback(null, first.address, first.family);
      });
    };
  }

  private socketRefusal(socket: Socket): string | undefined {
    const remote = socket.remoteAddress;
    if (!remote) return undefined;
    const refusal = addressRefusal(remote, this.allow);
    return refusal ? `refused: connected to ${refusal}${ALLOW_HINT}` : undefined;
  }

  /** Reads the body, decompressed, up to the limit. */
  private async readBody(response: IncomingMessage): Promise<Buffer> {
    const encoding = String(response.headers['content-encoding'] ?? 'identity')
      .trim()
      .toLowerCase();
    let stream: Readable = response;
    if (encoding !== 'identity' && encoding !== '') {
      const decoder = DECODERS[encoding];
      if (!decoder) {
        response.destroy();
        throw fail(`${this.noun} uses an unsupported content encoding "${encoding}"`);
      }
      const decoding = decoder();
      response.on('error', (error) => decoding.destroy(error));
      stream = response.pipe(decoding);
    }
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        this.received += chunk.length;
        if (this.received > this.options.maxBytes) {
          throw fail(
            `${this.noun} is over the ${this.options.maxBytes}-byte limit (stopped reading at ${this.received} bytes)`,
          );
        }
        chunks.push(chunk);
      }
    } catch (error) {
      throw this.explain(error, `the connection failed while reading ${this.noun}`);
    } finally {
      response.destroy();
      stream.destroy();
    }
    return Buffer.concat(chunks, this.received);
  }

  /** Turns a network, abort or decoding error into `fetch_failed` with words a person can act on. */
  private explain(error: unknown, what: string): AppError {
    if (isAppError(error)) return error;
    if (this.isTimedOut) {
      return this.hasHeaders
        ? fail(
            `${this.noun} did not finish arriving within ${this.options.timeoutMs} ms (${this.received} bytes received)`,
          )
        : fail(`no response within ${this.options.timeoutMs} ms`);
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code?.startsWith('Z_')) return fail(`${this.noun} could not be decompressed (${code})`);
    return fail(`${what} (${code ?? (error as Error).message ?? String(error)})`);
  }
}

const ALLOW_HINT = ' (FEED_ALLOW_PRIVATE_ADDRESSES=true allows it in development)';

function fail(reason: string): AppError {
  return new AppError('fetch_failed', reason);
}

function checkedUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail(`${what} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw fail(`${what} uses ${url.protocol}; only http and https are fetched`);
  }
  return url;
}

function resolveLocation(location: string, base: URL): string {
  try {
    return new URL(location, base).href;
  } catch {
    throw fail(`a redirect to an invalid URL`);
  }
}

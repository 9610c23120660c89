/**
 * A fetch bounded in time and size: one deadline for the whole exchange (headers and body, so a server that trickles
 * or never finishes is cut off) and a byte cap enforced while streaming (the body is abandoned as soon as it passes
 * the limit, never buffered whole). Feeds and embedded images both come through it; the `fetch` underneath is
 * injected, so the composition root decides which one reaches the network.
 */
/** What `fetchWithLimits` needs. */
export interface FetchLimits {
  /** The fetch underneath (the composition root's choice). */
  fetch: typeof fetch;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Longest the whole exchange may take, in milliseconds. */
  timeoutMs: number;
  /** Request headers (accept, user-agent). @defaultValue {} */
  headers?: Record<string, string>;
  /** How the reasons name the body, e.g. `the feed`. @defaultValue 'the body' */
  noun?: string;
  /** Turns a one-line reason into the error thrown (each caller has its own error code). */
  fail: (reason: string) => Error;
}

/** A fetched body. */
export interface FetchedBody {
  bytes: Buffer;
  /** The final URL after redirects. */
  url: string;
  /** The Content-Type header, if any. */
  contentType: string | null;
}

/**
 * Fetches a URL within the limits, following redirects. Throws `fail(reason)` naming the HTTP status, the timeout,
 * the size or the network error.
 */
export async function fetchWithLimits(url: string, limits: FetchLimits): Promise<FetchedBody> {
  const noun = limits.noun ?? 'the body';
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, limits.timeoutMs);
  try {
    let response: Response;
    try {
      response = await limits.fetch(url, { signal: controller.signal, redirect: 'follow', headers: limits.headers });
    } catch (error) {
      if (timedOut) throw limits.fail(`no response within ${limits.timeoutMs} ms`);
      throw limits.fail(`could not fetch (${networkReason(error)})`);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw limits.fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }
    const declaredLength = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declaredLength) && declaredLength > limits.maxBytes) {
      controller.abort();
      throw limits.fail(`${noun} is ${declaredLength} bytes, over the ${limits.maxBytes}-byte limit`);
    }
    const chunks: Uint8Array[] = [];
    let received = 0;
    let isOverLimit = false;
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.byteLength;
          if (received > limits.maxBytes) {
            isOverLimit = true;
            controller.abort();
            break;
          }
          chunks.push(value);
        }
      } catch (error) {
        if (timedOut) {
          throw limits.fail(
            `${noun} did not finish arriving within ${limits.timeoutMs} ms (${received} bytes received)`,
          );
        }
        throw limits.fail(`the connection failed while reading ${noun} (${networkReason(error)})`);
      }
    }
    if (isOverLimit) {
      throw limits.fail(`${noun} is over the ${limits.maxBytes}-byte limit (stopped reading at ${received} bytes)`);
    }
    return {
      bytes: Buffer.concat(chunks, received),
      url: response.url || url,
      contentType: response.headers.get('content-type'),
    };
  } finally {
    clearTimeout(timer);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

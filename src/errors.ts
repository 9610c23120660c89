/**
 * Errors are values with codes. Each code below is documented; `httpStatusFor` is the one table that maps codes to
 * HTTP statuses, so domain code never speaks HTTP.
 */
import type { z } from 'zod';

/** Every error code the application raises on purpose. */
export const ErrorCode = {
  /** The environment or config file failed validation. */
  config_invalid: 'config_invalid',
  /** Input at a boundary (feed, webhook, form, CLI flag, job payload) failed its schema. */
  input_invalid: 'input_invalid',
  /** A feed source is not a feed, is malformed beyond recovery, too large, or could not be fetched. */
  feed_rejected: 'feed_rejected',
  /**
   * An outbound HTTP fetch was refused (a non-public address, a scheme other than http(s), too many redirects) or
   * failed (timeout, size limit, network error, an HTTP status other than 2xx).
   */
  fetch_failed: 'fetch_failed',
  /** No newsletter with that id is configured. */
  newsletter_not_found: 'newsletter_not_found',
  /** No digest with that id exists. */
  digest_not_found: 'digest_not_found',
  /** The digest is in a state that does not allow the operation (e.g. sending a cancelled digest). */
  digest_state: 'digest_state',
  /** A digest would have no articles. */
  digest_empty: 'digest_empty',
  /** No subscriber with that id or address exists. */
  subscriber_not_found: 'subscriber_not_found',
  /** A subscriber token failed verification. */
  token_invalid: 'token_invalid',
  /** Redis is unreachable or misconfigured (e.g. an evicting maxmemory-policy). */
  redis_unavailable: 'redis_unavailable',
  redis_misconfigured: 'redis_misconfigured',
  /** A template failed to compile. */
  template_invalid: 'template_invalid',
  /** Authentication is missing or wrong. */
  unauthorized: 'unauthorized',
  /** A signed request that was already received (a replay). */
  replayed: 'replayed',
  /** Too many requests from one client or for one address; try again later. */
  rate_limited: 'rate_limited',
  /** Some recipients of a delivery batch got a transient refusal; the batch is retried with backoff. */
  delivery_incomplete: 'delivery_incomplete',
  /** The privacy audit found something in a digest that could track a reader; the send is refused until allowed. */
  privacy_finding: 'privacy_finding',
  /** An image could not be fetched, decoded or found (an embedded digest's frozen image missing from Redis). */
  image_unavailable: 'image_unavailable',
  /** The relay refused a message for good for a reason other than the mailbox (policy, content); not retried. */
  message_refused: 'message_refused',
  /** A service we depend on (Amazon SNS, for its certificate) did not answer as it should. */
  upstream_unavailable: 'upstream_unavailable',
  /** A token that was genuine but is past its expiry. */
  token_expired: 'token_expired',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An expected failure with a machine-readable code and a one-line, human-readable message. */
export class AppError extends Error {
  override readonly name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** True when the value is an AppError, optionally with the given code. */
export function isAppError(value: unknown, code?: ErrorCode): value is AppError {
  return value instanceof AppError && (code === undefined || value.code === code);
}

const httpStatusByCode: Record<ErrorCode, number> = {
  config_invalid: 500,
  input_invalid: 400,
  feed_rejected: 422,
  fetch_failed: 502,
  newsletter_not_found: 404,
  digest_not_found: 404,
  digest_state: 409,
  digest_empty: 422,
  subscriber_not_found: 404,
  token_invalid: 400,
  redis_unavailable: 503,
  redis_misconfigured: 500,
  template_invalid: 500,
  unauthorized: 401,
  replayed: 409,
  rate_limited: 429,
  delivery_incomplete: 503,
  privacy_finding: 422,
  image_unavailable: 502,
  message_refused: 502,
  upstream_unavailable: 502,
  token_expired: 410,
};

/** The HTTP status for an error code. */
export function httpStatusFor(code: ErrorCode): number {
  return httpStatusByCode[code];
}

/** Formats zod issues as `field: reason; field: reason`, naming the path of each (a bare value has no path). */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Parses a value with a schema or throws `input_invalid` naming the source, the fields and the reasons. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new AppError('input_invalid', `${source}: ${formatZodIssues(result.error)}`);
  return result.data;
}

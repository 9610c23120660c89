/** How a use-case error ends a job: permanent problems skip the remaining attempts, everything else is retried. */
import { UnrecoverableError } from 'bullmq';
import { isAppError, type ErrorCode } from '../src/errors.js';

/** Error codes no retry can fix. */
const PERMANENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'input_invalid',
  'digest_not_found',
  'digest_state',
  'newsletter_not_found',
  'template_invalid',
  'config_invalid',
  'message_refused',
]);

/** Maps an error to what the job should throw: `UnrecoverableError` for permanent codes, the error itself otherwise. */
export function mapJobError(error: unknown): Error {
  if (isAppError(error) && PERMANENT_CODES.has(error.code))
    return new UnrecoverableError(`${error.code}: ${error.message}`);
  return error instanceof Error ? error : new Error(String(error));
}

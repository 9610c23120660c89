/** Asking for a test send: the addresses checked, one `test` job per address on the transactional queue. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { JobName, JobPayload } from '../queue/job-definitions.js';
import { EmailSchema } from '../subscribers/subscriber.js';

/** Most addresses one test send goes to. */
export const MAX_TEST_RECIPIENTS = 5;

/**
 * The addresses of a test send: a list, or one text of addresses separated by commas, semicolons, spaces or line
 * breaks (what a person types in a box); duplicates count once; 1 to 5 of them.
 */
export const TestRecipientsSchema = z
  .union([z.string().max(2000), z.array(z.string().max(254)).max(50)])
  .transform((value) => (typeof value === 'string' ? value.split(/[\s,;]+/) : value))
  .transform((list) => [...new Set(list.map((address) => address.trim()).filter((address) => address !== ''))])
  .pipe(
    z
      .array(EmailSchema)
      .min(1, 'name at least one address')
      .max(MAX_TEST_RECIPIENTS, `at most ${MAX_TEST_RECIPIENTS} addresses`),
  );

/** What requesting needs. */
export interface RequestTestSendDeps {
  digests: { get(id: string): Promise<{ id: string; status: string } | undefined> };
  queues: { enqueue<N extends JobName>(name: N, payload: JobPayload<N>): Promise<string> };
}

/** Queues a test send of a digest to the given addresses (already parsed by `TestRecipientsSchema`). */
export async function requestTestSend(
  deps: RequestTestSendDeps,
  input: { digestId: string; to: string[]; requestedBy: string },
): Promise<{ requestId: string; to: string[] }> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  if (digest.status === 'cancelled') throw new AppError('digest_state', `digest "${digest.id}" was cancelled`);
  const requestId = randomBytes(12).toString('base64url');
  for (const email of input.to) {
    await deps.queues.enqueue('transactional', {
      kind: 'test',
      digestId: digest.id,
      email,
      requestedBy: input.requestedBy,
      requestId,
    });
  }
  return { requestId, to: input.to };
}

/**
 * Baseline 1, what a developer writes first: one process, a pooled nodemailer transport with the same connection
 * count, and `sendMail` building every message from the digest's HTML and text (the reader's links filled in).
 * A bounded window of sends in flight (twice the connections) keeps the pool busy without queueing everything.
 *
 * Run by the benchmark: `node bin/run-ts.js bench/baseline-bare-nodemailer.ts <fixture.json> <smtpUrl> <connections> <messages>`.
 */
import nodemailer from 'nodemailer';
import type { Mail } from 'nodemailer';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { escapeHtml, fillSlots } from '../src/digests/fill-slots.js';
import { parseInput } from '../src/errors.js';
import { subscriberLinks } from '../src/subscribers/tokens.js';
import { benchReaderEmail, readBenchFixture, type BenchFixture } from './bench-fixture.js';
import { runAsBenchChild } from './child-process-protocol.js';

/** The mail options a developer passes to `sendMail` for reader `index` (same headers as the real path). */
export function bareMailOptions(fixture: BenchFixture, index: number): Parameters<Mail['sendMail']>[0] {
  const { newsletter, site, body, secret, digestId } = fixture;
  const links = subscriberLinks(site, secret, { subscriberId: index, newsletterId: newsletter.id });
  const replyTo = newsletter.replyTo ?? site.replyTo;
  return {
    from: newsletter.from ?? site.from,
    ...(replyTo ? { replyTo } : {}),
    to: benchReaderEmail(index),
    subject: body.subject,
    messageId: `<${digestId}.${index}@${site.mailDomain}>`,
    list: { id: `${newsletter.id}.${site.mailDomain}`, unsubscribe: links.unsubscribeUrl },
    headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    text: fillSlots(body.text, links),
    html: fillSlots(body.html, {
      unsubscribeUrl: escapeHtml(links.unsubscribeUrl),
      preferencesUrl: escapeHtml(links.preferencesUrl),
    }),
  };
}

/** The pooled nodemailer transport both baselines use: the same connection count as the real path, kept open. */
export function createBaselineTransport(smtpUrl: string, connections: number) {
  const url = new URL(smtpUrl);
  return nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port),
    secure: false,
    pool: true,
    maxConnections: connections,
    // Keep connections open for the whole run, as the real path's mailer does.
    maxMessages: Infinity,
  });
}

/** Sends `messages` digests (readers 1..messages) through one pooled transport. */
export async function sendWithBareNodemailer(
  fixture: BenchFixture,
  options: { smtpUrl: string; connections: number; messages: number },
): Promise<void> {
  const transport = createBaselineTransport(options.smtpUrl, options.connections);
  let next = 1;
  const lane = async () => {
    while (next <= options.messages) {
      const index = next;
      next += 1;
      await transport.sendMail(bareMailOptions(fixture, index));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections * 2 }, lane));
  } finally {
    transport.close();
  }
}

const ArgumentsSchema = z.tuple([
  z.string().min(1),
  z.string().url(),
  z.coerce.number().int().min(1),
  z.coerce.number().int().min(1),
]);

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const [fixturePath, smtpUrl, connections, messages] = parseInput(
    ArgumentsSchema,
    process.argv.slice(2),
    'baseline arguments',
  );
  const fixture = await readBenchFixture(fixturePath);
  await runAsBenchChild(() => sendWithBareNodemailer(fixture, { smtpUrl, connections, messages }));
}

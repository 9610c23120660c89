/**
 * What the messages to a reader say, apart from digests: the sign-up confirmation and a newsletter's welcome. Plain
 * functions from data to `TransactionalContent`; the layout is `emails/transactional.*`.
 */
import type { Newsletter, Site } from '../config.js';
import type { TransactionalContent } from './transactional-message.js';

/** Longest preheader; clients show 40 to 140 characters. */
const PREHEADER_MAX = 140;

/** "A", "A and B", "A, B and C". */
export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

const expiryFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
  timeZoneName: 'short',
});

/** The sign-up confirmation: who asked for what, one button, and what happens if nobody presses it. */
export function confirmationContent(input: {
  site: Pick<Site, 'name'>;
  newsletterNames: readonly string[];
  confirmUrl: string;
  expiresAt: Date;
  ttlHours: number;
}): TransactionalContent {
  const names = listNames(input.newsletterNames);
  return {
    subject: `Please confirm your subscription to ${names}`,
    preheader: `One click and you are on the list. The link works for ${input.ttlHours} hours.`,
    heading: 'Please confirm your subscription',
    paragraphs: [
      `Someone, hopefully you, asked for ${names} from ${input.site.name} to be sent to this address.`,
      `Press the button to confirm. The link works for ${input.ttlHours} hours, until ${expiryFormat.format(input.expiresAt)}.`,
    ],
    action: { label: 'Confirm my subscription', url: input.confirmUrl },
    afterword: [
      'If you did not ask for this, ignore this email: nothing more will be sent to you, and the request is deleted when the link expires.',
    ],
  };
}

/** The paragraphs of a configured message: split on blank lines, each paragraph on one line. */
export function paragraphsOf(message: string): string[] {
  return message
    .split(/\r?\n\s*\r?\n/)
    .map((paragraph) => paragraph.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

/** A newsletter's welcome message, from its `welcome` setting. */
export function welcomeContent(
  newsletter: Pick<Newsletter, 'name'> & { welcome: { subject?: string; message: string } },
): TransactionalContent {
  const paragraphs = paragraphsOf(newsletter.welcome.message);
  const first = paragraphs[0] ?? '';
  return {
    subject: newsletter.welcome.subject ?? `Welcome to ${newsletter.name}`,
    preheader: first.length > PREHEADER_MAX ? `${first.slice(0, PREHEADER_MAX - 1).trimEnd()}…` : first,
    heading: `Welcome to ${newsletter.name}`,
    paragraphs,
    afterword: ['You can leave at any time: every email has a one-click unsubscribe link at its foot.'],
  };
}

/**
 * The privacy facts: what Letterpress keeps about a reader, for how long, and what it never collects, each tied to
 * the audit's finding kinds that check it before every send. One source for the public `/privacy` page and the
 * README's "Privacy" section (`renderPrivacyMarkdown`; a test keeps the README equal to it). Change a fact here
 * only together with the code that makes it true.
 */
import type { ImagePolicy } from '../digests/digest.js';
import { FINDING_KINDS, FINDING_KIND_LIST, type FindingKind } from './finding.js';

/** Something kept about a reader. */
export interface StoredFact {
  what: string;
  why: string;
  /** For how long. */
  kept: string;
}

/** Something never collected, how that is ensured, and the audit's kinds that check it on every digest. */
export interface NeverCollectedFact {
  what: string;
  how: string;
  checkedBy: FindingKind[];
}

/** What the reader's mail program does with a newsletter's images, per policy. */
export const IMAGE_POLICY_FACTS: Record<ImagePolicy, string> = {
  embedded: 'the images travel inside the email: opening it makes no network request at all, to us or to anyone else.',
  remote:
    'the images are shown from the web addresses the articles give them, the same for every reader: when your mail program shows images it fetches them, so the server holding them sees a request from your network, but nothing in it says who you are.',
  none: 'the emails carry no images.',
};

/** Everything kept about a reader. */
export const STORED_FACTS: readonly StoredFact[] = [
  {
    what: 'Your email address',
    why: 'to send you the newsletters you chose, and for nothing else',
    kept: 'while you are subscribed; after you leave it stays marked as left, so that no form or import can sign you up again without your new confirmation',
  },
  {
    what: 'Which newsletters you take and which you left, whether you have confirmed, and when you signed up and last changed anything',
    why: 'to send each newsletter only to its readers',
    kept: 'as long as your address',
  },
  {
    what: 'A record number',
    why: 'your personal unsubscribe and preferences links carry it, signed so nobody can forge them; it is the only thing in an email that tells one reader from another',
    kept: 'as long as your address',
  },
  {
    what: 'Whether each issue reached your mail server: delivered, failed or skipped, and for a failure the server’s reply with any address removed',
    why: 'so nobody receives an issue twice and a failed delivery can be retried',
    kept: 'as long as the issue’s record',
  },
  {
    what: 'Your address on a list of addresses never to write to, with the reason and the date, when your mail server refuses it for good or reports a complaint',
    why: 'so we stop writing to an address that does not want our mail',
    kept: 'for good',
  },
];

/** Everything never collected. */
export const NEVER_COLLECTED_FACTS: readonly NeverCollectedFact[] = [
  {
    what: 'Whether or when you open an email',
    how: 'no tracking pixel, no hidden image, no image, font or stylesheet that differs from one reader to the next; two readers’ copies of an issue differ only in the address and the personal links',
    checkedBy: [
      'reader-difference',
      'personal-value',
      'hidden-image',
      'remote-image',
      'remote-font',
      'remote-css',
      'remote-content',
    ],
  },
  {
    what: 'Which links you click',
    how: 'every link goes straight to its page: no redirect, no URL shortener, no tracking parameter (utm_ and the like are removed when articles arrive)',
    checkedBy: ['redirect-link', 'tracking-parameter', 'tracker-host'],
  },
  {
    what: 'Anything for an analytics or advertising service',
    how: 'no email and no page of ours refers to a known tracker, and our pages load nothing from another site',
    checkedBy: ['tracker-host', 'remote-content'],
  },
  {
    what: 'Cookies',
    how: 'no page of ours sets one; the preferences and unsubscribe pages work from the signed link alone',
    checkedBy: [],
  },
  {
    what: 'Your address in logs or job queues',
    how: 'logs and delivery jobs carry record numbers, never an address or a token',
    checkedBy: [],
  },
];

/** The pledge and the sentence under it. */
export const PRIVACY_PLEDGE = {
  title: 'No tracking. No cookies.',
  summary:
    'We keep only what it takes to send you the newsletters you asked for. Before every issue is sent, an automatic audit renders it for two readers and refuses to send it if anything in it could tell us, or anyone else, that you opened it or clicked a link.',
};

/** The README's Privacy section body (between its markers), generated from the facts. */
export function renderPrivacyMarkdown(): string {
  const lines: string[] = [
    `**${PRIVACY_PLEDGE.title}** ${PRIVACY_PLEDGE.summary} The public page \`/privacy\` says the same to readers.`,
    '',
    'What is stored about a reader:',
    '',
    '| what | why | kept |',
    '| --- | --- | --- |',
    ...STORED_FACTS.map((fact) => `| ${fact.what} | ${fact.why} | ${fact.kept} |`),
    '',
    'What is never collected:',
    '',
    ...NEVER_COLLECTED_FACTS.map(
      (fact) =>
        `- **${fact.what}**: ${fact.how}.${fact.checkedBy.length > 0 ? ` Audited: ${fact.checkedBy.map((kind) => `\`${kind}\``).join(', ')}.` : ''}`,
    ),
    '',
    'Images, per newsletter (`newsletters[].images`):',
    '',
    ...Object.entries(IMAGE_POLICY_FACTS).map(([policy, fact]) => `- \`${policy}\`: ${fact}`),
    '',
    'Finding kinds of the audit (`letterpress audit <digest-id>`, and before every send; `digest send --allow-finding KIND` allows one kind for that send, except `reader-difference` and `personal-value`, which never go out):',
    '',
    '| kind | meaning |',
    '| --- | --- |',
    ...FINDING_KIND_LIST.map((kind) => `| \`${kind}\` | ${FINDING_KINDS[kind]} |`),
  ];
  return lines.join('\n');
}

/** The markers around the generated Privacy section of README.md. */
export const README_PRIVACY_MARKERS = {
  start: '<!-- privacy facts: generated from src/privacy/privacy-facts.ts -->',
  end: '<!-- end of privacy facts -->',
} as const;

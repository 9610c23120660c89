/**
 * The sample issue, rendered without Redis: the twelve articles of the bundled sample feed
 * (`src/demo/sample-feed.xml`, what the demo sends) through the real feed parser and `renderIssue`, and messages
 * built from it by the real composer. Template tests (size budget, spam score, dark mode) all look at this issue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFeed } from '../../src/articles/parse-feed.js';
import type { Article } from '../../src/articles/article.js';
import { DigestCompositionSchema, type DigestComposition } from '../../src/digests/digest.js';
import { escapeHtml, fillSlots } from '../../src/digests/fill-slots.js';
import { renderIssue, type RenderedIssue } from '../../src/digests/render-issue.js';
import { prepareDigestMessage } from '../../src/mail/compose-message.js';
import { confirmationContent } from '../../src/mail/reader-messages.js';
import { composeTransactionalMessage } from '../../src/mail/transactional-message.js';
import { subscriberLinks } from '../../src/subscribers/tokens.js';
import { sampleNewsletter, sampleSite, TEST_SECRET } from '../digests/sample-articles.js';
import { repoRoot } from './cli.js';
import { SAMPLE_FEED_PATH } from './sample-feed.js';

/** When the sample issue goes out (its articles are dated a day earlier). */
export const SAMPLE_ISSUE_DATE = new Date('2026-11-27T06:00:00Z');

/** The sample reader every sample message is addressed to. */
export const SAMPLE_READER = { id: 1, email: 'ada.lovelace@example.org' };

/** The sample feed's twelve articles, newest first, as ingest would store them. */
export function sampleFeedArticles(): Article[] {
  const path = join(repoRoot, SAMPLE_FEED_PATH);
  return parseFeed(readFileSync(path), { source: path, maxBytes: 10_000_000, now: SAMPLE_ISSUE_DATE }).articles;
}

const newsletter = sampleNewsletter();
const site = sampleSite();
const digest = { id: 'daily-20261127-060000-smpl', newsletterId: newsletter.id };

/** Renders the sample issue (all twelve articles; a composition may add a note or make it a letter). */
export function renderSampleIssue(composition: Partial<DigestComposition> = {}): Promise<RenderedIssue> {
  return renderIssue({
    digest,
    composition: DigestCompositionSchema.parse(composition),
    articles: sampleFeedArticles(),
    newsletter,
    site,
    issueDate: SAMPLE_ISSUE_DATE,
  });
}

/** The HTML part of an issue as the sample reader receives it (their links filled in). */
export function sampleReaderHtml(issue: RenderedIssue): string {
  const links = subscriberLinks(site, TEST_SECRET, { subscriberId: SAMPLE_READER.id, newsletterId: newsletter.id });
  return fillSlots(issue.body.html, {
    unsubscribeUrl: escapeHtml(links.unsubscribeUrl),
    preferencesUrl: escapeHtml(links.preferencesUrl),
  });
}

/** The whole message (RFC 5322 bytes) of an issue as the sample reader receives it. */
export function sampleIssueMessage(issue: RenderedIssue): Buffer {
  return prepareDigestMessage({ digest, body: issue.body, newsletter, site, secret: TEST_SECRET }).render(
    SAMPLE_READER,
    SAMPLE_ISSUE_DATE,
  ).raw;
}

/** A letter issue: the editor's letter in Markdown, then the articles. */
export const SAMPLE_LETTER: DigestComposition['letter'] = {
  title: 'Why we are changing how we cover the council',
  body: [
    'For twenty years this paper has sent a reporter to every full council meeting. From January we will also',
    'publish the agenda papers a week ahead, with a short guide to what each item means for the town.',
    '',
    '> Readers asked us for this in the autumn survey, more than for anything else.',
    '',
    'If you have a question about a decision, reply to this email: a person reads every reply.',
  ].join('\n'),
  author: 'Mara Quill, editor',
};

/** The sign-up confirmation message, as a new reader receives it. */
export async function sampleConfirmationMessage(): Promise<Buffer> {
  const message = await composeTransactionalMessage({
    messageKey: 'confirmation',
    messageSeed: 'sample',
    content: confirmationContent({
      site,
      newsletterNames: [newsletter.name],
      confirmUrl: `${site.baseUrl}/confirm/c1.daily.sample-token-for-tests`,
      expiresAt: new Date(SAMPLE_ISSUE_DATE.getTime() + 48 * 3_600_000),
      ttlHours: 48,
    }),
    recipient: SAMPLE_READER,
    site,
    secret: TEST_SECRET,
    now: SAMPLE_ISSUE_DATE,
  });
  return message.raw;
}

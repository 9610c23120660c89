/**
 * Micro-benchmark of the per-recipient cost of the pre-built digest message: `node bin/run-ts.js bench/compose-micro.ts
 * [--readers N]`. Renders a twelve-card digest once, prepares its MIME once, then times `render()` per reader (token
 * HMAC, Message-ID HMAC, quoted-printable of two links, one Buffer.concat) and, for contrast, nodemailer building
 * the same message from scratch per reader. One core, no I/O. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import { prepareDigestMessage } from '../src/mail/compose-message.js';
import { escapeHtml, fillSlots } from '../src/digests/fill-slots.js';
import { renderDigest } from '../src/digests/render-digest.js';
import { subscriberLinks } from '../src/subscribers/tokens.js';
import {
  makeArticle,
  sampleArticles,
  sampleNewsletter,
  sampleSite,
  TEST_SECRET,
} from '../test/digests/sample-articles.js';

const { values } = parseArgs({ options: { readers: { type: 'string', default: '50000' } } });
const readers = Math.max(1000, Number(values.readers) || 50_000);

const base = sampleArticles();
const articles = Array.from({ length: 12 }, (_, i) => {
  const seed = base[i % base.length]!;
  return makeArticle({
    title: `${seed.title} (${i + 1})`,
    section: seed.section,
    publishedAt: new Date(Date.parse(seed.publishedAt) - i * 60_000).toISOString(),
    authors: seed.authors,
    standfirst: seed.standfirst || 'A short standfirst for a story in the digest.',
    image: {
      url: `https://news.harbourgazette.example/images/${i + 1}.jpg`,
      alt: `Picture ${i + 1}`,
      caption: 'Photo: staff',
    },
  });
});
const newsletter = sampleNewsletter();
const site = sampleSite();
const digest = { id: 'daily-20251127-060000-bnch', newsletterId: 'daily' };

let started = performance.now();
const body = await renderDigest({ newsletter, site, articles, issueDate: new Date() });
const renderDigestMs = performance.now() - started;

started = performance.now();
const template = prepareDigestMessage({ digest, body, newsletter, site, secret: TEST_SECRET });
const prepareMs = performance.now() - started;

const now = new Date();
const sample = template.render({ id: 1, email: 'reader1@example.org' }, now);

function timeRenders(count: number): number {
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 1; i <= count; i += 1)
    bytes += template.render({ id: i, email: `reader${i}@example.org` }, now).raw.length;
  if (bytes === 0) throw new Error('nothing rendered');
  return Number(process.hrtime.bigint() - start) / 1000 / count;
}

timeRenders(2_000); // warm-up
const rounds = [timeRenders(readers), timeRenders(readers), timeRenders(readers)].sort((a, b) => a - b);

async function timeNodemailer(count: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 1; i <= count; i += 1) {
    const links = subscriberLinks(site, TEST_SECRET, { subscriberId: i, newsletterId: 'daily' });
    const htmlLinks = {
      unsubscribeUrl: escapeHtml(links.unsubscribeUrl),
      preferencesUrl: escapeHtml(links.preferencesUrl),
    };
    const composer = new MailComposer({
      from: site.from,
      to: `reader${i}@example.org`,
      subject: body.subject,
      text: fillSlots(body.text, links),
      html: fillSlots(body.html, htmlLinks),
      list: { unsubscribe: { url: links.unsubscribeUrl, comment: 'Unsubscribe' } },
    });
    await composer.compile().build();
  }
  return Number(process.hrtime.bigint() - start) / 1000 / count;
}
await timeNodemailer(200);
const nodemailerMicros = await timeNodemailer(Math.min(2_000, readers));

console.log(
  JSON.stringify({
    node: process.version,
    readers,
    messageBytes: sample.raw.length,
    renderDigestMs: Number(renderDigestMs.toFixed(1)),
    prepareMessageMs: Number(prepareMs.toFixed(2)),
    renderPerRecipientMicros: { median: Number(rounds[1]!.toFixed(2)), best: Number(rounds[0]!.toFixed(2)) },
    nodemailerBuildPerRecipientMicros: Number(nodemailerMicros.toFixed(1)),
  }),
);

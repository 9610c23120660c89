/**
 * Composing an issue on real Redis: a draft an editor shapes (articles removed, reordered, added; a Markdown note; a
 * letter), frozen for good when it goes out; the size budget; no article twice unless an editor wants it; unpublish.
 */
import { simpleParser } from 'mailparser';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisArticleStore } from '../../src/articles/article-store.js';
import type { Article } from '../../src/articles/article.js';
import { createDraft, type CreateDraftDeps } from '../../src/digests/create-draft.js';
import { RedisDigestStore } from '../../src/digests/digest-store.js';
import { escapeHtml, fillSlots } from '../../src/digests/fill-slots.js';
import { freezeDigest } from '../../src/digests/freeze-digest.js';
import { archiveUrlFor } from '../../src/digests/render-issue.js';
import { unpublishArticles } from '../../src/digests/unpublish-articles.js';
import { moveArticle, updateDraft } from '../../src/digests/update-draft.js';
import { isAppError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { prepareDigestMessage } from '../../src/mail/compose-message.js';
import { redisKeys, type RedisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';
import { makeArticle, sampleArticles, sampleNewsletter, sampleSite, TEST_SECRET } from './sample-articles.js';

let redis: Redis;
let cleanup: () => Promise<void>;
let articles: RedisArticleStore;
let digests: RedisDigestStore;
let keys: RedisKeys;
const NOW = new Date('2025-11-27T09:00:00Z');
const site = sampleSite();
const LINKS = { unsubscribeUrl: 'https://x.example/u/1', preferencesUrl: 'https://x.example/p/1' };

beforeAll(async () => {
  const opened = await openTestRedis('compose');
  redis = opened.redis;
  cleanup = opened.cleanup;
  keys = redisKeys(opened.prefix);
  articles = new RedisArticleStore(redis, keys);
  digests = new RedisDigestStore(redis, keys);
  await articles.upsertMany(sampleArticles());
});
afterAll(async () => cleanup());

const deps = (): CreateDraftDeps & { articles: RedisArticleStore; digests: RedisDigestStore } => ({
  articles,
  digests,
  lastSentAt: async () => undefined,
  clock: () => NOW,
});
const html = (body: { html: string[] }) =>
  fillSlots(body.html, {
    unsubscribeUrl: escapeHtml(LINKS.unsubscribeUrl),
    preferencesUrl: escapeHtml(LINKS.preferencesUrl),
  });
const titleOf = (id: string) => sampleArticles().find((a) => a.id === id)?.title;

describe('an editor composing an issue', () => {
  it('takes the suggestions, removes one, swaps two, adds an older one, writes a note: that is what freezes', async () => {
    const newsletter = sampleNewsletter({ id: 'shape', maxArticles: 4 });
    const { digest } = await createDraft(deps(), { newsletter, createdBy: 'maggie' });
    expect(digest.status).toBe('draft');
    expect(await digests.getBody(digest.id)).toBeUndefined(); // nothing rendered for good yet
    const [first, second, third, fourth] = digest.articleIds as [string, string, string, string];
    const older = sampleArticles().at(-1) as Article; // the choir, not among the suggestions
    let order = moveArticle(digest.articleIds, { kind: 'remove', articleId: first });
    order = moveArticle(order, { kind: 'down', articleId: second });
    order = moveArticle(order, { kind: 'add', articleId: older.id });
    expect(order).toEqual([third, second, fourth, older.id]);

    const note =
      'Good morning. **Storm warning** tonight: [the forecast](https://met.example/forecast?utm_source=news&day=1).\n\n' +
      '<script>alert(1)</script>\n\n![pixel](https://tracker.example/p.gif)';
    const edited = await updateDraft(deps(), {
      digestId: digest.id,
      newsletter,
      edit: { revision: 0, articleIds: order, note, subject: 'Storm warning, and three more' },
      by: 'tom',
    });
    expect(edited).toMatchObject({ revision: 1, updatedBy: 'tom', subject: 'Storm warning, and three more' });
    expect((await digests.getComposition(digest.id)).pinnedArticleIds).toEqual([older.id]);

    const { digest: frozen } = await freezeDigest(deps(), {
      digestId: digest.id,
      newsletter,
      site,
      target: 'ready',
      by: 'tom',
    });
    expect(frozen).toMatchObject({ status: 'ready', articleIds: order, subject: 'Storm warning, and three more' });
    const body = (await digests.getBody(digest.id))!;
    const page = html(body);
    expect(page).toContain('<strong>Storm warning</strong>');
    expect(page).toContain('href="https://met.example/forecast?day=1"'); // tracking parameter gone
    expect(page).not.toMatch(/<script|alert\(1\)|tracker\.example/);
    expect(page).toContain(`href="${archiveUrlFor(site, digest)}"`); // "View in your browser"
    const text = fillSlots(body.text, LINKS);
    expect(text.replace(/\s+/g, ' ')).toContain(
      'Storm warning tonight: the forecast (https://met.example/forecast?day=1).',
    );
    expect(text).toContain(`View in your browser:\n${archiveUrlFor(site, digest)}\n`);
    // The stories in the editor's order (each title once in the text part).
    const positions = order.map((id) => text.indexOf(titleOf(id) ?? 'missing'));
    expect(positions.every((p, i) => p > 0 && (i === 0 || p > (positions[i - 1] as number)))).toBe(true);

    // Frozen means frozen: no edit, and no second freeze.
    for (const attempt of [
      () => updateDraft(deps(), { digestId: digest.id, newsletter, edit: { note: 'too late' }, by: 'maggie' }),
      () => freezeDigest(deps(), { digestId: digest.id, newsletter, site, target: 'ready', by: 'maggie' }),
    ]) {
      const caught = await attempt().catch((error: unknown) => error);
      expect(isAppError(caught, 'digest_state')).toBe(true);
    }
    expect((await digests.getComposition(digest.id)).note).toBe(note);
  });

  it('refuses an edit made on an older revision and keeps the other editor’s work', async () => {
    const newsletter = sampleNewsletter({ id: 'race', maxArticles: 3 });
    const { digest } = await createDraft(deps(), { newsletter, createdBy: 'maggie' });
    await updateDraft(deps(), {
      digestId: digest.id,
      newsletter,
      edit: { revision: 0, note: 'Maggie’s note' },
      by: 'maggie',
    });
    const caught = await updateDraft(deps(), {
      digestId: digest.id,
      newsletter,
      edit: { revision: 0, note: 'Tom’s note' },
      by: 'tom',
    }).catch((error: unknown) => error);
    expect(isAppError(caught, 'digest_state')).toBe(true);
    expect((caught as Error).message).toMatch(/changed by someone else/);
    expect((await digests.getComposition(digest.id)).note).toBe('Maggie’s note');
    const unknown = await updateDraft(deps(), {
      digestId: digest.id,
      newsletter,
      edit: { articleIds: ['ffffffffffffffffffffffff'] },
      by: 'tom',
    }).catch((error: unknown) => error);
    expect(isAppError(unknown, 'input_invalid')).toBe(true);
  });

  it('never carries an article twice in one newsletter unless an editor adds it on purpose', async () => {
    const newsletter = sampleNewsletter({ id: 'norepeat', maxArticles: 3 });
    const early = await createDraft(deps(), { newsletter, createdBy: 'maggie' });
    const twin = await createDraft(deps(), { newsletter, createdBy: 'tom' }); // made before either froze
    expect(twin.digest.articleIds).toEqual(early.digest.articleIds);
    await freezeDigest(deps(), { digestId: early.digest.id, newsletter, site, target: 'ready', by: 'maggie' });

    // Suggested anew: the next three, none of the first issue's.
    const next = await createDraft(deps(), { newsletter, createdBy: 'maggie' });
    expect(next.digest.articleIds.some((id) => early.digest.articleIds.includes(id))).toBe(false);

    // The twin kept what the first issue now carries: frozen, it drops them and says why.
    const kept = twin.digest.articleIds[0] as string;
    await updateDraft(deps(), {
      digestId: twin.digest.id,
      newsletter,
      edit: { articleIds: [...twin.digest.articleIds, ...next.digest.articleIds.slice(0, 1)] },
      by: 'tom',
    });
    const frozenTwin = await freezeDigest(deps(), {
      digestId: twin.digest.id,
      newsletter,
      site,
      target: 'ready',
      by: 'tom',
    });
    expect(frozenTwin.digest.articleIds).toEqual(next.digest.articleIds.slice(0, 1));
    expect(frozenTwin.omitted.map((o) => o.reason)).toContain('another issue of this newsletter carries it');

    // Chosen on purpose, the same article goes out again.
    const again = await createDraft(deps(), {
      newsletter,
      createdBy: 'maggie',
      articles: (await articles.getMany([kept])) as Article[],
    });
    const frozenAgain = await freezeDigest(deps(), {
      digestId: again.digest.id,
      newsletter,
      site,
      target: 'ready',
      by: 'maggie',
    });
    expect(frozenAgain.digest.articleIds).toEqual([kept]);
  });

  it('keeps a 36-story issue under the 90 KB budget: the rest only on the web, linked, and the editor told why', async () => {
    const many = Array.from({ length: 36 }, (_, i) =>
      makeArticle({
        title: `Story number ${i} about the harbour, the ferry and the council this week`,
        section: ['News', 'Business', 'Culture'][i % 3],
        publishedAt: new Date(Date.UTC(2025, 10, 27, 8) - i * 600_000).toISOString(),
        authors: ['Mara Quill', 'Ben Okafor'],
        standfirst: 'A paragraph of standfirst that runs on for a while. '.repeat(6),
        image: { url: `https://news.harbourgazette.example/images/${i}.jpg`, alt: 'The harbour at dawn' },
      }),
    );
    await articles.upsertMany(many);
    const newsletter = sampleNewsletter({ id: 'budget', maxArticles: 36 });
    const { digest } = await createDraft(deps(), { newsletter, createdBy: 'maggie', articles: many });
    const frozen = await freezeDigest(deps(), { digestId: digest.id, newsletter, site, target: 'ready', by: 'maggie' });

    const body = (await digests.getBody(digest.id))!;
    const message = prepareDigestMessage({ digest, body, newsletter, site, secret: TEST_SECRET }).render(
      { id: 1234567, email: 'reader@example.org' },
      NOW,
    );
    const parsed = await simpleParser(message.raw);
    expect(Buffer.byteLength(String(parsed.html))).toBeLessThanOrEqual(90 * 1024);
    expect(frozen.digest.htmlBytes).toBeLessThanOrEqual(90 * 1024);
    expect(String(parsed.html)).toMatch(/Unsubscribe<\/a>/); // the footer survives
    const left = 36 - frozen.digest.articleIds.length;
    expect(left).toBeGreaterThan(0);
    expect(String(parsed.html)).toContain(`${left} more articles in the web version of this issue`);
    expect(String(parsed.text)).toContain(archiveUrlFor(site, digest));
    expect(frozen.omitted).toHaveLength(left);
    expect(frozen.omitted[0]?.reason).toMatch(/under the 90 KB budget \(with it the email would be \d+ KB/);
    const web = (await digests.getWeb(digest.id))!;
    const onWeb = web.sections.flatMap((s) => s.articles);
    expect(onWeb).toHaveLength(36);
    expect(onWeb.filter((a) => a.isOnlyOnWeb)).toHaveLength(left);
  });

  it('a letter with no article: its title, Markdown body and signature in both parts, in the site’s language', async () => {
    const french = sampleSite({ locale: 'fr-FR', timeZone: 'Europe/Paris' });
    const newsletter = sampleNewsletter({ id: 'letters' });
    const { digest } = await createDraft(deps(), {
      newsletter,
      kind: 'letter',
      createdBy: 'maggie',
      composition: {
        letter: {
          title: 'Why we are changing',
          body: 'Dear readers,\n\nWe *listened*.\n\n- shorter\n- calmer',
          author: 'Maggie Chen',
        },
      },
    });
    expect(digest.subject).toBe('The Daily Digest: Why we are changing');
    await freezeDigest(deps(), { digestId: digest.id, newsletter, site: french, target: 'ready', by: 'maggie' });
    const body = (await digests.getBody(digest.id))!;
    const page = html(body);
    expect(page).toMatch(/<html lang="fr-FR"/);
    expect(page).toMatch(/jeudi 27 novembre 2025/);
    expect(page).toContain('Why we are changing');
    expect(page).toContain('<em>listened</em>');
    expect(page).toContain('— Maggie Chen');
    const text = fillSlots(body.text, LINKS);
    expect(text).toMatch(
      /Why we are changing\n\nDear readers,\n\nWe listened\.\n\n- shorter\n- calmer\n\n— Maggie Chen/,
    );
  });

  it('an unpublished article leaves drafts and scheduled issues (the schedule kept), not those already sent', async () => {
    const newsletter = sampleNewsletter({ id: 'unpub' });
    const [gone, stays, other] = sampleArticles() as [Article, Article, Article];
    await articles.rememberCmsIds([{ cmsId: 'cms-77', articleId: gone.id }]);
    const config = { newsletters: [newsletter], site };
    const draft = await createDraft(deps(), { newsletter, createdBy: 'maggie', articles: [gone, stays] });
    const scheduled = await createDraft(deps(), { newsletter, createdBy: 'maggie', articles: [gone, other] });
    const at = new Date('2025-11-28T06:00:00Z');
    await freezeDigest(deps(), {
      digestId: scheduled.digest.id,
      newsletter,
      site,
      target: 'scheduled',
      scheduledFor: at,
      by: 'maggie',
    });
    const sent = await createDraft(deps(), { newsletter, createdBy: 'maggie', articles: [gone] });
    await freezeDigest(deps(), { digestId: sent.digest.id, newsletter, site, target: 'ready', by: 'maggie' });
    await redis.hset(keys.digest(sent.digest.id), 'status', 'sent'); // it went out

    const report = await unpublishArticles({ articles, digests, config, clock: () => NOW, logger: silentLogger }, [
      'cms-77',
      'cms-unknown',
    ]);
    expect(report.removed).toBe(1);
    expect(report.unknown).toEqual(['cms-unknown']);
    expect(await articles.get(gone.id)).toBeUndefined();
    expect((await digests.get(draft.digest.id))?.articleIds).toEqual([stays.id]);
    const rescheduled = await digests.get(scheduled.digest.id);
    expect(rescheduled).toMatchObject({ status: 'scheduled', scheduledFor: at.toISOString(), articleIds: [other.id] });
    expect(html((await digests.getBody(scheduled.digest.id))!)).not.toContain(escapeHtml(gone.title));
    expect((await digests.get(sent.digest.id))?.articleIds).toEqual([gone.id]);
  });
});

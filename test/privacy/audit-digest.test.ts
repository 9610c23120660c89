/**
 * The privacy audit as an editor meets it: a clean digest passes, every planted leak is found with its kind, a
 * finding stops the send until its kind is allowed, and the result is stored with the digest. Real Redis, the real
 * composer, the real CLI.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDigest } from '../../src/digests/create-digest.js';
import type { Digest, DigestBody } from '../../src/digests/digest.js';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { silentLogger } from '../../src/logger.js';
import { prepareDigestMessage } from '../../src/mail/compose-message.js';
import { AUDIT_READERS, auditDigest } from '../../src/privacy/audit-digest.js';
import type { FindingKind } from '../../src/privacy/finding.js';
import { runLetterpress } from '../helpers/cli.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { sampleArticles } from '../digests/sample-articles.js';

let app: App;
let cleanup: () => Promise<void>;
let prefix: string;
let clean: Digest;
let cleanBody: DigestBody;
let planted = 0;

beforeAll(async () => {
  const redis = await openTestRedis('audit');
  cleanup = redis.cleanup;
  prefix = redis.prefix;
  app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: prefix }), {
    logger: silentLogger,
  });
  const articles = sampleArticles();
  clean = await createDigest(
    {
      articles: { listPublishedSince: async () => articles },
      digests: app.digests,
      lastSentAt: async () => undefined,
      clock: () => new Date('2025-11-27T06:00:00Z'),
    },
    { newsletter: app.config.newsletters[0]!, site: app.config.site },
  );
  cleanBody = (await app.digests.getBody(clean.id))!;
});

afterAll(async () => {
  await app?.close();
  await cleanup();
});

/** Stores a copy of the clean digest whose HTML (before `</body>`) and text (at the end) carry the planted leak. */
async function plantDigest(leak: { html?: string; text?: string; body?: (body: DigestBody) => DigestBody }) {
  planted += 1;
  const lastHtml = cleanBody.html.length - 1;
  const lastText = cleanBody.text.length - 1;
  let body: DigestBody = {
    ...cleanBody,
    html: cleanBody.html.map((segment, i) =>
      i === lastHtml ? segment.replace('</body>', `${leak.html ?? ''}</body>`) : segment,
    ),
    text: cleanBody.text.map((segment, i) => (i === lastText ? `${segment}${leak.text ?? ''}` : segment)),
  };
  if (leak.body) body = leak.body(body);
  const digest: Digest = { ...clean, id: `daily-20251127-060000-p${String(planted).padStart(3, '0')}` };
  await app.digests.create(digest, body);
  return digest;
}

function blockingKinds(findings: { kind: FindingKind; allowedBy?: string }[]): FindingKind[] {
  return [...new Set(findings.filter((f) => f.allowedBy === undefined).map((f) => f.kind))].sort();
}

describe('the privacy audit', () => {
  it('passes the clean digest, reporting its article images as shown by URL under the remote policy', async () => {
    const result = await auditDigest(app, { digestId: clean.id });
    expect(result.isPassed).toBe(true);
    expect(result.blocking).toBe(0);
    expect(result.imagePolicy).toBe('remote');
    const images = cleanBody.images?.remote ?? [];
    expect(images).toEqual([
      'https://news.harbourgazette.example/images/harbour-wall.jpg',
      'https://news.harbourgazette.example/images/tempest.jpg',
    ]);
    expect(result.findings).toEqual(
      images.map((url) => ({
        kind: 'policy-remote-image',
        place: 'html',
        detail: `<img src> loads the article image ${url}`,
        url,
        allowedBy: 'policy',
      })),
    );
    expect(await app.audits.get(clean.id)).toEqual(result);
  });

  const leaks: [string, { html?: string; text?: string }, FindingKind[]][] = [
    [
      'an open pixel',
      { html: '<img src="https://news.harbourgazette.example/o.gif" width="1" height="1" alt="">' },
      ['hidden-image', 'remote-image'],
    ],
    [
      'an image hidden by CSS',
      { html: '<img src="https://cdn.example.net/a.png" style="display: none" alt="">' },
      ['hidden-image', 'remote-image'],
    ],
    [
      'an image inside a hidden block',
      { html: '<div style="max-height:0;overflow:hidden"><img src="data:image/gif;base64,R0lGOD" alt=""></div>' },
      ['hidden-image'],
    ],
    [
      'a remote web font',
      { html: '<style>@font-face { font-family: X; src: url(https://fonts.gstatic.com/s/x.woff2) }</style>' },
      ['remote-font'],
    ],
    [
      'a font service stylesheet',
      { html: '<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter">' },
      ['remote-font'],
    ],
    [
      'a CSS background image',
      { html: `<div style="background-image: url('https://cdn.example.net/bg.png')">x</div>` },
      ['remote-css'],
    ],
    ['an @import', { html: '<style>@import url("https://cdn.example.net/extra.css");</style>' }, ['remote-css']],
    [
      'a background attribute',
      { html: '<table background="https://cdn.example.net/paper.png"><tr><td>x</td></tr></table>' },
      ['remote-image'],
    ],
    [
      'a srcset',
      { html: '<img src="data:image/gif;base64,R0lGOD" srcset="https://cdn.example.net/x.jpg 2x" alt="">' },
      ['remote-image'],
    ],
    [
      'an Outlook-only image in a conditional comment',
      { html: '<!--[if mso]><img src="https://cdn.example.net/mso.png" alt=""><![endif]-->' },
      ['remote-image'],
    ],
    ['a shortened link', { html: '<a href="https://bit.ly/3abcDEF">more</a>' }, ['redirect-link']],
    [
      'a redirect wrapper',
      { html: '<a href="https://www.google.com/url?q=https://example.org/">x</a>' },
      ['redirect-link'],
    ],
    [
      'a utm link',
      { html: '<a href="https://news.harbourgazette.example/a?utm_source=newsletter&amp;utm_medium=email">x</a>' },
      ['tracking-parameter'],
    ],
    [
      'a tracking parameter in the text part',
      { text: '\nAlso: https://news.harbourgazette.example/b?fbclid=IwAR0abc\n' },
      ['tracking-parameter'],
    ],
    [
      'an analytics beacon',
      { html: '<img src="https://www.google-analytics.com/collect?v=1&amp;tid=UA-1" alt="">' },
      ['remote-image', 'tracker-host'],
    ],
    ['a script', { html: '<script src="https://cdn.example.net/a.js"></script>' }, ['remote-content']],
    [
      'a click ping',
      { html: '<a href="https://news.harbourgazette.example/x" ping="https://ping.example.net/">x</a>' },
      ['remote-content'],
    ],
  ];

  it.each(leaks)('finds %s', async (_name, leak, kinds) => {
    const digest = await plantDigest(leak);
    const result = await auditDigest(app, { digestId: digest.id });
    expect(blockingKinds(result.findings)).toEqual(kinds);
    expect(result.isPassed).toBe(false);
  });

  it('finds a reader’s token in an image URL: a personal open pixel', async () => {
    const digest = await plantDigest({
      body: (body) => {
        const last = body.html[body.html.length - 1]!;
        const [before, after] = last.split('</body>');
        return {
          ...body,
          html: [
            ...body.html.slice(0, -1),
            `${before}<img src="https://open.example.net/o.gif?u=`,
            'unsubscribeUrl',
            `" alt=""></body>${after}`,
          ],
        };
      },
    });
    const result = await auditDigest(app, { digestId: digest.id });
    expect(blockingKinds(result.findings)).toEqual(['personal-value', 'remote-image']);
    const personal = result.findings.find((f) => f.kind === 'personal-value');
    expect(personal?.detail).toBe('the reader’s unsubscribe link appears in <img src>');
    // The stored result names the value, never the value itself.
    const stored = JSON.stringify(await app.audits.get(digest.id));
    expect(stored).not.toMatch(/918273645501|audit-reader/);
  });

  it('finds copies that differ per reader, in the body and in a header', async () => {
    const byReader = (digest: Digest, body: DigestBody) => {
      const templates = ['Anna', 'Bartholomew'].map((name) =>
        prepareDigestMessage({
          digest,
          body: {
            ...body,
            html: body.html.map((s, i) => (i === 0 ? s.replace('<body', `<p>Hello ${name}</p><body`) : s)),
          },
          newsletter: app.config.newsletters[0]!,
          site: app.config.site,
          secret: app.config.secret,
        }),
      );
      return {
        render: (reader: { id: number; email: string }, now: Date) => {
          const message = templates[reader.id === AUDIT_READERS[0].id ? 0 : 1]!.render(reader, now);
          const tag = createHash('sha256').update(reader.email).digest('hex').slice(0, 12);
          return { ...message, raw: Buffer.concat([Buffer.from(`X-Recipient-Tag: ${tag}\r\n`), message.raw]) };
        },
      };
    };
    const deps = { digests: app.digests, audits: app.audits, linksFor: app.linksFor, clock: app.clock };
    const result = await auditDigest(
      { ...deps, prepareMessage: async (d, b) => byReader(d, b) },
      { digestId: clean.id },
    );
    const differences = result.findings.filter((f) => f.kind === 'reader-difference');
    expect(differences.map((f) => f.place).sort()).toEqual(['headers', 'html']);
    expect(differences.find((f) => f.place === 'html')?.detail).toMatch(/Hello Anna.*against.*Hello Bartholomew/);
    expect(differences.find((f) => f.place === 'headers')?.detail).toMatch(/^the X-Recipient-Tag header differs/);
  });

  it('blocks the send on a finding until the editor allows its kinds, and never allows a per-reader leak', async () => {
    const digest = await plantDigest({ html: '<img src="https://cdn.example.net/o.gif" width="1" height="1" alt="">' });

    await expect(sendDigest(app, { digestId: digest.id })).rejects.toMatchObject({
      code: 'privacy_finding',
      message: expect.stringMatching(
        /found 2 blocking findings: hidden-image ×1, remote-image ×1.*--allow-finding hidden-image --allow-finding remote-image/,
      ),
    });
    expect((await app.digests.get(digest.id))?.status).toBe('ready');
    expect((await app.audits.get(digest.id))?.blocking).toBe(2);

    await expect(sendDigest(app, { digestId: digest.id, allowFindings: ['remote-image'] })).rejects.toMatchObject({
      code: 'privacy_finding',
    });
    await expect(sendDigest(app, { digestId: digest.id, allowFindings: ['personal-value'] })).rejects.toMatchObject({
      code: 'input_invalid',
      message: expect.stringContaining('personal-value can never be allowed'),
    });

    const started = await sendDigest(app, { digestId: digest.id, allowFindings: ['remote-image', 'hidden-image'] });
    expect(started.status).toBe('sending');
    const stored = await app.audits.get(digest.id);
    expect(stored).toMatchObject({ isPassed: true, blocking: 0, allowedKinds: ['remote-image', 'hidden-image'] });
    expect(stored?.findings.every((f) => f.allowedBy !== undefined)).toBe(true);
  });

  it('is a CLI command that exits 1 on a finding, and digest send explains a bad --allow-finding', async () => {
    const digest = await plantDigest({ html: '<a href="https://bit.ly/abc">x</a>' });
    const env = { REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: prefix };
    const [audit, send, unknown] = await Promise.all([
      runLetterpress(['audit', digest.id, '--json'], env),
      runLetterpress(['digest', 'send', digest.id, '--allow-finding', 'pixels'], env),
      runLetterpress(['audit', 'daily-20251127-060000-none'], env),
    ]);
    expect(audit.code).toBe(1);
    expect(audit.json).toMatchObject({
      digestId: digest.id,
      isPassed: false,
      findings: expect.arrayContaining([expect.objectContaining({ kind: 'redirect-link', url: 'https://bit.ly/abc' })]),
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('letterpress: no digest "daily-20251127-060000-none"\n');
    expect(send.code).toBe(2);
    expect(send.stderr).toMatch(/^letterpress: --allow-finding must be one of: reader-difference, personal-value, /);
  });
});

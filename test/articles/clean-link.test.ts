import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanLink, isTrackingParameter } from '../../src/articles/clean-link.js';

describe('tracking parameters are removed from links', () => {
  it.each([
    ['https://paper.example/a?utm_source=rss&utm_medium=email&utm_campaign=daily', 'https://paper.example/a'],
    ['https://paper.example/a?id=7&utm_source=rss&page=2', 'https://paper.example/a?id=7&page=2'],
    ['https://paper.example/a?fbclid=IwAR0x&gclid=abc&dclid=1&msclkid=2&mc_eid=3&mc_cid=4', 'https://paper.example/a'],
    [
      'https://paper.example/a?_hsenc=p2&_hsmi=1&mkt_tok=x&igshid=y&yclid=z&oly_enc_id=1&oly_anon_id=2',
      'https://paper.example/a',
    ],
    [
      'https://paper.example/a?vero_id=1&ck_subscriber_id=2&__s=3&s_cid=4&ref_src=twsrc&spm=a.b&gbraid=5&wbraid=6',
      'https://paper.example/a',
    ],
    ['https://paper.example/a?UTM_Source=Upper&Q=kept', 'https://paper.example/a?Q=kept'],
    ['https://paper.example/a#utm_source=rss&utm_medium=feed', 'https://paper.example/a'],
    ['https://paper.example/a?x=1#section-2', 'https://paper.example/a?x=1#section-2'],
    ['https://paper.example/a?utm_source=x#comments', 'https://paper.example/a#comments'],
    ['https://medium.com/@writer/post-123?source=rss-abc------2', 'https://medium.com/@writer/post-123'],
    ['https://www.youtube.com/watch?v=dQw4w9WgXcQ&si=shareid', 'https://www.youtube.com/watch?v=dQw4w9WgXcQ'],
  ])('%s → %s', (input, expected) => {
    expect(cleanLink(input)).toBe(expected);
  });

  it('keeps a site-specific name where it means something else ("source" outside Medium)', () => {
    expect(cleanLink('https://paper.example/search?source=archive')).toBe(
      'https://paper.example/search?source=archive',
    );
  });
});

describe('redirect wrappers are unwrapped when the destination is in the URL', () => {
  it.each([
    ['https://www.google.com/url?q=https://paper.example/story&sa=D&source=editors', 'https://paper.example/story'],
    [
      'https://www.google.co.uk/url?url=https%3A%2F%2Fpaper.example%2Fstory%3Futm_source%3Dg',
      'https://paper.example/story',
    ],
    [
      'https://l.facebook.com/l.php?u=https%3A%2F%2Fpaper.example%2Fstory%3Ffbclid%3Dx&h=AT0',
      'https://paper.example/story',
    ],
    ['https://out.reddit.com/t3_abc?url=https%3A%2F%2Fpaper.example%2Fstory&token=t', 'https://paper.example/story'],
    [
      'https://www.linkedin.com/redir/redirect?url=https%3A%2F%2Fpaper.example%2Fstory&urlhash=x',
      'https://paper.example/story',
    ],
    [
      'https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fpaper.example%2Fstory&data=05',
      'https://paper.example/story',
    ],
    ['https://urldefense.proofpoint.com/v2/url?u=https-3A__paper.example_story&d=DwMF', 'https://paper.example/story'],
    ['https://urldefense.com/v3/__https://paper.example/story__;!!abc$', 'https://paper.example/story'],
    [
      'https://www.youtube.com/redirect?q=https%3A%2F%2Fpaper.example%2Fstory&redir_token=x',
      'https://paper.example/story',
    ],
  ])('%s → %s', (input, expected) => {
    expect(cleanLink(input)).toBe(expected);
  });

  it('unwraps up to three nested wrappers (Safe Links around Google around Facebook)', () => {
    const inner = 'https://paper.example/deep?utm_source=x';
    const facebook = `https://l.facebook.com/l.php?u=${encodeURIComponent(inner)}`;
    const google = `https://www.google.com/url?q=${encodeURIComponent(facebook)}`;
    const safelinks = `https://nam02.safelinks.protection.outlook.com/?url=${encodeURIComponent(google)}&data=1`;
    expect(cleanLink(safelinks)).toBe('https://paper.example/deep');
  });

  it.each([
    ['https://t.co/AbCdEf123', 'the target is not in the URL'],
    ['http://feedproxy.google.com/~r/Paper/~3/abc/story.html', 'FeedBurner keeps its target server-side'],
    ['https://u123.ct.sendgrid.net/ls/click?upn=opaque', 'SendGrid encodes its target opaquely'],
    ['https://paper.us1.list-manage.com/track/click?u=1&id=2&e=3', 'Mailchimp keeps its target server-side'],
    ['https://www.google.com/url?q=javascript:alert(1)', 'the "target" is not an http(s) URL'],
  ])('keeps %s (%s)', (input) => {
    expect(cleanLink(input)).toBe(input);
  });
});

describe('anything else is left exactly as it was', () => {
  it.each([
    'mailto:editor@paper.example?subject=utm_source',
    'not a url at all',
    '/relative/path?utm_source=x',
    'https://paper.example/a b?c=%ZZ&d',
    'https://paper.example/?',
    'https://paper.example/a?b=1&&c=2',
  ])('%s', (input) => {
    expect(cleanLink(input)).toBe(input);
  });
});

const trackingName = fc.oneof(
  fc.constantFrom(
    'fbclid',
    'gclid',
    'mc_eid',
    'mc_cid',
    'msclkid',
    '_hsenc',
    'igshid',
    'yclid',
    'mkt_tok',
    'ck_subscriber_id',
  ),
  fc.stringMatching(/^[a-z]{1,10}$/).map((suffix) => `utm_${suffix}`),
);
const plainName = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/).filter((name) => !isTrackingParameter(name));
const value = fc.stringMatching(/^[A-Za-z0-9._~-]{0,12}$/);

/** A URL with a mix of tracking and ordinary parameters, possibly inside one to three redirect wrappers. */
const trackedUrl = fc
  .record({
    base: fc.webUrl({ withQueryParameters: false, withFragments: false }),
    params: fc.array(fc.tuple(fc.oneof(trackingName, plainName), value), { maxLength: 8 }),
    wrappers: fc.array(fc.constantFrom('google', 'facebook', 'safelinks', 'reddit'), { maxLength: 3 }),
  })
  .map(({ base, params, wrappers }) => {
    let url = params.length > 0 ? `${base}?${params.map(([k, v]) => `${k}=${v}`).join('&')}` : base;
    for (const wrapper of wrappers) {
      const encoded = encodeURIComponent(url);
      url =
        wrapper === 'google'
          ? `https://www.google.com/url?q=${encoded}&sa=D`
          : wrapper === 'facebook'
            ? `https://l.facebook.com/l.php?u=${encoded}&h=x`
            : wrapper === 'safelinks'
              ? `https://eur01.safelinks.protection.outlook.com/?url=${encoded}&data=1`
              : `https://out.reddit.com/t3_x?url=${encoded}`;
    }
    return url;
  });

function parameterNames(url: string): string[] {
  return [...new URL(url).searchParams.keys()];
}

describe('properties of link cleaning', () => {
  it('never leaves a utm_, fbclid or other tracking parameter behind', () => {
    fc.assert(
      fc.property(trackedUrl, (url) => {
        const cleaned = cleanLink(url);
        expect(parameterNames(cleaned).filter((name) => isTrackingParameter(name))).toEqual([]);
        expect(cleaned).not.toMatch(/[?&](?:utm_|fbclid=)/i);
      }),
      { numRuns: 400 },
    );
  });

  it('is idempotent: cleaning a cleaned link changes nothing', () => {
    fc.assert(
      fc.property(
        fc.oneof(trackedUrl, fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string()),
        (url) => {
          const once = cleanLink(url);
          expect(cleanLink(once)).toBe(once);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never changes a URL that carries no tracking parameter and no wrapper', () => {
    const untracked = fc.webUrl({ withQueryParameters: true, withFragments: true }).filter((url) => {
      const parsed = new URL(url);
      const fragmentNames = [...new URLSearchParams(parsed.hash.slice(1)).keys()];
      return ![...parsed.searchParams.keys(), ...fragmentNames].some((name) =>
        isTrackingParameter(name, parsed.hostname),
      );
    });
    fc.assert(
      fc.property(untracked, (url) => {
        expect(cleanLink(url)).toBe(url);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps every ordinary parameter of the destination, in order', () => {
    fc.assert(
      fc.property(
        fc.webUrl({ withQueryParameters: false, withFragments: false }),
        fc.array(fc.tuple(fc.oneof(trackingName, plainName), value), { minLength: 1, maxLength: 8 }),
        (base, params) => {
          const url = `${base}?${params.map(([k, v]) => `${k}=${v}`).join('&')}`;
          const kept = params.filter(([k]) => !isTrackingParameter(k)).map(([k]) => k);
          expect(parameterNames(cleanLink(url))).toEqual(kept);
        },
      ),
      { numRuns: 300 },
    );
  });
});

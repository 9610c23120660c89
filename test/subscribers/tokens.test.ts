import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import {
  createSubscriberToken,
  linksForToken,
  requireSubscriberToken,
  subscriberLinks,
  verifySubscriberToken,
} from '../../src/subscribers/tokens.js';

const SECRET = 'token-test-secret-0123456789-abcdefghijklmnop';
const OTHER_SECRET = 'token-test-secret-0123456789-abcdefghijklmnoq';

const claimArbitrary = fc.record({
  subscriberId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  newsletterId: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,39}$/),
});

describe('subscriber tokens', () => {
  it('a reader’s link names their subscription and nothing else: no address, URL-safe characters only', () => {
    const token = createSubscriberToken(SECRET, { subscriberId: 42, newsletterId: 'daily' });
    expect(token).toMatch(/^42\.daily\.[A-Za-z0-9_-]{22}$/);
    expect(encodeURIComponent(token)).toBe(token);
    expect(verifySubscriberToken(SECRET, token)).toEqual({ subscriberId: 42, newsletterId: 'daily' });
  });

  it('any genuine claim round-trips through its token', () => {
    fc.assert(
      fc.property(claimArbitrary, (claim) => {
        expect(verifySubscriberToken(SECRET, createSubscriberToken(SECRET, claim))).toEqual(claim);
      }),
      { numRuns: 300 },
    );
  });

  it('a token signed with another secret is refused', () => {
    fc.assert(
      fc.property(claimArbitrary, (claim) => {
        expect(verifySubscriberToken(OTHER_SECRET, createSubscriberToken(SECRET, claim))).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('changing, adding or removing any character of a token makes it invalid', () => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.%=/+ ';
    fc.assert(
      fc.property(
        claimArbitrary,
        fc.nat(),
        fc.constantFrom(...alphabet.split('')),
        fc.constantFrom('replace', 'insert', 'delete'),
        (claim, rawIndex, character, edit) => {
          const token = createSubscriberToken(SECRET, claim);
          const index = rawIndex % token.length;
          let tampered: string;
          if (edit === 'replace') tampered = token.slice(0, index) + character + token.slice(index + 1);
          else if (edit === 'insert') tampered = token.slice(0, index) + character + token.slice(index);
          else tampered = token.slice(0, index) + token.slice(index + 1);
          fc.pre(tampered !== token);
          expect(verifySubscriberToken(SECRET, tampered)).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a token moved to another reader or another newsletter is refused', () => {
    const token = createSubscriberToken(SECRET, { subscriberId: 7, newsletterId: 'daily' });
    const mac = token.split('.')[2];
    expect(verifySubscriberToken(SECRET, `8.daily.${mac}`)).toBeUndefined();
    expect(verifySubscriberToken(SECRET, `7.weekly.${mac}`)).toBeUndefined();
    expect(verifySubscriberToken(SECRET, `07.daily.${mac}`)).toBeUndefined();
  });

  it('garbage of any shape is refused without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        expect(verifySubscriberToken(SECRET, value)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    expect(verifySubscriberToken(SECRET, '9007199254740993.daily.AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
  });

  it('requireSubscriberToken turns a bad link into token_invalid', () => {
    let caught: unknown;
    try {
      requireSubscriberToken(SECRET, 'not-a-token');
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught, 'token_invalid')).toBe(true);
  });

  it('impossible claims cannot be signed', () => {
    for (const claim of [
      { subscriberId: 0, newsletterId: 'daily' },
      { subscriberId: 1.5, newsletterId: 'daily' },
      { subscriberId: 1, newsletterId: 'has.dot' },
      { subscriberId: 1, newsletterId: '' },
    ]) {
      expect(() => createSubscriberToken(SECRET, claim)).toThrow(/claim/);
    }
  });

  it('links are built on the site address without doubling its trailing slash', () => {
    const links = subscriberLinks({ baseUrl: 'https://news.example.org/' }, SECRET, {
      subscriberId: 3,
      newsletterId: 'daily',
    });
    const token = createSubscriberToken(SECRET, { subscriberId: 3, newsletterId: 'daily' });
    expect(links).toEqual({
      unsubscribeUrl: `https://news.example.org/unsubscribe/${token}`,
      preferencesUrl: `https://news.example.org/preferences/${token}`,
    });
    expect(linksForToken({ baseUrl: 'https://news.example.org/sub' }, 'preview').unsubscribeUrl).toBe(
      'https://news.example.org/sub/unsubscribe/preview',
    );
  });
});

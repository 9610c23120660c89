import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createToken,
  linksForToken,
  subscriberLinks,
  verifyToken,
  type TokenClaim,
  type TokenPurpose,
} from '../../src/subscribers/tokens.js';

const SECRET = 'token-test-secret-0123456789-abcdefghijklmnop';
const OTHER_SECRET = 'token-test-secret-0123456789-abcdefghijklmnoq';
const NOW = new Date('2026-03-01T12:00:00Z');
const PURPOSES: TokenPurpose[] = ['confirm', 'unsubscribe', 'preferences', 'resubscribe'];

const claimArbitrary = fc.record({
  purpose: fc.constantFrom(...PURPOSES),
  subscriberId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  newsletterId: fc.option(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,39}$/), { nil: undefined }),
  expiresAt: fc.option(
    fc.integer({ min: NOW.getTime() / 1000 + 1, max: 4_000_000_000 }).map((s) => new Date(s * 1000)),
    { nil: undefined },
  ),
});

function withoutUndefined(claim: TokenClaim): TokenClaim {
  return Object.fromEntries(Object.entries(claim).filter(([, v]) => v !== undefined)) as unknown as TokenClaim;
}

describe('subscriber tokens', () => {
  it('a reader’s link names the purpose and their subscription and nothing else: no address, URL-safe only', () => {
    const token = createToken(SECRET, { purpose: 'unsubscribe', subscriberId: 42, newsletterId: 'daily' });
    expect(token).toMatch(/^u42\.daily\.-\.[A-Za-z0-9_-]{22}$/);
    expect(encodeURIComponent(token)).toBe(token);
    expect(verifyToken({ secret: SECRET }, token, 'unsubscribe', NOW)).toEqual({
      status: 'valid',
      claim: { purpose: 'unsubscribe', subscriberId: 42, newsletterId: 'daily' },
    });
  });

  it('any genuine claim round-trips through its token, for its own purpose only', () => {
    fc.assert(
      fc.property(claimArbitrary, (claim) => {
        const token = createToken(SECRET, claim);
        const expected = withoutUndefined({
          ...claim,
          expiresAt: claim.expiresAt && new Date(Math.floor(claim.expiresAt.getTime() / 1000) * 1000),
        });
        expect(verifyToken({ secret: SECRET }, token, claim.purpose, NOW)).toEqual({
          status: 'valid',
          claim: expected,
        });
        for (const other of PURPOSES.filter((p) => p !== claim.purpose)) {
          expect(verifyToken({ secret: SECRET }, token, other, NOW)).toEqual({ status: 'invalid' });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a confirmation link expires: 410-worthy once its time has passed, never before', () => {
    const expiresAt = new Date(NOW.getTime() + 72 * 3_600_000);
    const token = createToken(SECRET, { purpose: 'confirm', subscriberId: 7, expiresAt });
    expect(verifyToken({ secret: SECRET }, token, 'confirm', new Date(expiresAt.getTime() - 1000)).status).toBe(
      'valid',
    );
    expect(verifyToken({ secret: SECRET }, token, 'confirm', expiresAt)).toEqual({
      status: 'expired',
      claim: { purpose: 'confirm', subscriberId: 7, expiresAt },
    });
  });

  it('moving the expiry of a genuine token forward makes it invalid, not valid', () => {
    const token = createToken(SECRET, {
      purpose: 'resubscribe',
      subscriberId: 7,
      newsletterId: 'daily',
      expiresAt: NOW,
    });
    const [who, newsletter, , mac] = token.split('.');
    const later = Math.floor(NOW.getTime() / 1000 + 86_400).toString(36);
    expect(verifyToken({ secret: SECRET }, token, 'resubscribe', NOW).status).toBe('expired');
    expect(verifyToken({ secret: SECRET }, `${who}.${newsletter}.${later}.${mac}`, 'resubscribe', NOW)).toEqual({
      status: 'invalid',
    });
  });

  it('a token signed with another secret is refused, unless that secret is listed as a previous one', () => {
    fc.assert(
      fc.property(claimArbitrary, (claim) => {
        const token = createToken(OTHER_SECRET, claim);
        expect(verifyToken({ secret: SECRET }, token, claim.purpose, NOW)).toEqual({ status: 'invalid' });
        expect(verifyToken({ secret: SECRET, previousSecrets: [OTHER_SECRET] }, token, claim.purpose, NOW).status).toBe(
          'valid',
        );
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
          const token = createToken(SECRET, claim);
          const index = rawIndex % token.length;
          let tampered: string;
          if (edit === 'replace') tampered = token.slice(0, index) + character + token.slice(index + 1);
          else if (edit === 'insert') tampered = token.slice(0, index) + character + token.slice(index);
          else tampered = token.slice(0, index) + token.slice(index + 1);
          fc.pre(tampered !== token);
          for (const purpose of PURPOSES)
            expect(verifyToken({ secret: SECRET }, tampered, purpose, NOW).status).toBe('invalid');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a token moved to another reader or another newsletter is refused', () => {
    const token = createToken(SECRET, { purpose: 'unsubscribe', subscriberId: 7, newsletterId: 'daily' });
    const mac = token.split('.')[3];
    for (const moved of [`u8.daily.-.${mac}`, `u7.weekly.-.${mac}`, `u07.daily.-.${mac}`, `p7.daily.-.${mac}`]) {
      expect(verifyToken({ secret: SECRET }, moved, 'unsubscribe', NOW).status).toBe('invalid');
      expect(verifyToken({ secret: SECRET }, moved, 'preferences', NOW).status).toBe('invalid');
    }
  });

  it('garbage of any shape is refused without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        expect(verifyToken({ secret: SECRET }, value, 'unsubscribe', NOW)).toEqual({ status: 'invalid' });
      }),
      { numRuns: 300 },
    );
    expect(
      verifyToken({ secret: SECRET }, 'u9007199254740993.daily.-.AAAAAAAAAAAAAAAAAAAAAA', 'unsubscribe', NOW).status,
    ).toBe('invalid');
    expect(verifyToken({ secret: SECRET }, `u1.daily.-.${'A'.repeat(500)}`, 'unsubscribe', NOW).status).toBe('invalid');
  });

  it('impossible claims cannot be signed', () => {
    for (const claim of [
      { purpose: 'unsubscribe', subscriberId: 0, newsletterId: 'daily' },
      { purpose: 'unsubscribe', subscriberId: 1.5, newsletterId: 'daily' },
      { purpose: 'unsubscribe', subscriberId: 1, newsletterId: 'has.dot' },
      { purpose: 'unsubscribe', subscriberId: 1, newsletterId: '' },
      { purpose: 'sign-in', subscriberId: 1 },
      { purpose: 'confirm', subscriberId: 1, expiresAt: new Date(Number.NaN) },
    ] as TokenClaim[]) {
      expect(() => createToken(SECRET, claim)).toThrow(/claim/);
    }
  });

  it('links are built on the site address without doubling its trailing slash', () => {
    const links = subscriberLinks({ baseUrl: 'https://news.example.org/' }, SECRET, {
      subscriberId: 3,
      newsletterId: 'daily',
    });
    expect(links).toEqual({
      unsubscribeUrl: `https://news.example.org/unsubscribe/${createToken(SECRET, { purpose: 'unsubscribe', subscriberId: 3, newsletterId: 'daily' })}`,
      preferencesUrl: `https://news.example.org/preferences/${createToken(SECRET, { purpose: 'preferences', subscriberId: 3, newsletterId: 'daily' })}`,
    });
    expect(linksForToken({ baseUrl: 'https://news.example.org/sub' }, 'preview').unsubscribeUrl).toBe(
      'https://news.example.org/sub/unsubscribe/preview',
    );
  });
});

describe('links already in inboxes (tokens from before purposes existed)', () => {
  // Made by the previous release's createSubscriberToken and kept verbatim: these strings sit in readers' mailboxes.
  const LEGACY_SECRET = 'letterpress-test-secret-for-legacy-links-0001';
  const legacy = {
    daily1: '1.daily.s3SSfnAmI6zbP9BIjtAe_g',
    culture42: '42.culture.2R6dp7gQZ52B1UNxTbZtaw',
  };

  it('still unsubscribe and still open the preferences page, forever', () => {
    const far = new Date('2099-01-01T00:00:00Z');
    for (const purpose of ['unsubscribe', 'preferences'] as const) {
      expect(verifyToken({ secret: LEGACY_SECRET }, legacy.daily1, purpose, far)).toEqual({
        status: 'valid',
        claim: { purpose, subscriberId: 1, newsletterId: 'daily' },
      });
      expect(verifyToken({ secret: LEGACY_SECRET }, legacy.culture42, purpose, far)).toEqual({
        status: 'valid',
        claim: { purpose, subscriberId: 42, newsletterId: 'culture' },
      });
    }
  });

  it('keep working after the secret rotates, when the old one is listed as previous', () => {
    const rotated = { secret: SECRET, previousSecrets: [OTHER_SECRET, LEGACY_SECRET] };
    expect(verifyToken(rotated, legacy.daily1, 'unsubscribe', NOW).status).toBe('valid');
    expect(verifyToken({ secret: SECRET }, legacy.daily1, 'unsubscribe', NOW).status).toBe('invalid');
  });

  it('cannot confirm a sign-up or undo an unsubscribe', () => {
    expect(verifyToken({ secret: LEGACY_SECRET }, legacy.daily1, 'confirm', NOW).status).toBe('invalid');
    expect(verifyToken({ secret: LEGACY_SECRET }, legacy.daily1, 'resubscribe', NOW).status).toBe('invalid');
  });

  it('an altered legacy link is refused', () => {
    expect(verifyToken({ secret: LEGACY_SECRET }, '2.daily.s3SSfnAmI6zbP9BIjtAe_g', 'unsubscribe', NOW).status).toBe(
      'invalid',
    );
    expect(verifyToken({ secret: LEGACY_SECRET }, '1.culture.s3SSfnAmI6zbP9BIjtAe_g', 'unsubscribe', NOW).status).toBe(
      'invalid',
    );
  });
});

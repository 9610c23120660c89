/**
 * The DKIM signer's arithmetic: the relaxed body canonicalization agrees with python3-dkim's byte for byte, however a
 * body is cut into pieces, and the composer's cheap body hash (shared prefix hashed once, copied per reader) equals
 * the hash of each reader's whole body.
 */
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SlottedText } from '../../src/digests/digest.js';
import { prepareDigestMessage } from '../../src/mail/compose-message.js';
import {
  RelaxedBodyHasher,
  relaxedBodyHash,
  signDkim,
  signMessageChunks,
  splitMessage,
} from '../../src/mail/sign-dkim.js';
import { sampleNewsletter, sampleSite, TEST_SECRET } from '../digests/sample-articles.js';

const hasDkimpy = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import dkim']).status === 0;

const NOW = new Date('2026-03-02T06:00:00Z');
const input = {
  digest: { id: 'daily-20260302', newsletterId: 'daily' },
  newsletter: sampleNewsletter(),
  site: sampleSite(),
  secret: TEST_SECRET,
};

/** Bodies full of what relaxed canonicalization cares about: whitespace runs, trailing whitespace, CR, LF, blank lines. */
const awkwardBody = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', '\t', '\r', '\n', '\r\n', '\r\n', '  ', '=', '\r\n\r\n', ' \r\n'),
  maxLength: 40,
});

/** Cuts bytes into three pieces at two random places. */
function cutInThree(bytes: Buffer, a: number, b: number): [Buffer, Buffer, Buffer] {
  const [first, second] = [Math.floor(a * (bytes.length + 1)), Math.floor(b * (bytes.length + 1))].sort(
    (x, y) => x - y,
  ) as [number, number];
  return [bytes.subarray(0, first), bytes.subarray(first, second), bytes.subarray(second)];
}

describe('relaxed body canonicalization', () => {
  it.skipIf(!hasDkimpy)('matches python3-dkim on awkward bodies, cut anywhere, spliced or copied', () => {
    const cases = fc.sample(fc.tuple(awkwardBody, fc.double({ min: 0, max: 1 }), fc.double({ min: 0, max: 1 })), {
      numRuns: 1500,
      seed: 6376,
    });
    const script =
      'import sys, json, base64\nfrom dkim.canonicalization import Relaxed\n' +
      "print(json.dumps([base64.b64encode(Relaxed.canonicalize_body(c.encode('latin1'))).decode() for c in json.load(sys.stdin)]))";
    const run = spawnSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify(cases.map(([body]) => body)),
      encoding: 'utf8',
    });
    const expected = (JSON.parse(run.stdout) as string[]).map((b64) => Buffer.from(b64, 'base64'));
    for (const [index, [body, a, b]] of cases.entries()) {
      const pieces = cutInThree(Buffer.from(body, 'latin1'), a, b);
      const want = expected[index] as Buffer;
      expect(RelaxedBodyHasher.canonicalBody(pieces).toString('latin1'), JSON.stringify(body)).toBe(
        want.toString('latin1'),
      );
      // The composer's way: a prefix written raw and copied, then pieces canonicalized ahead of time.
      const prefix = RelaxedBodyHasher.create();
      prefix.write(pieces[0]);
      const copy = prefix.copy();
      copy.writeCanonical(RelaxedBodyHasher.canonicalize(pieces[1]));
      copy.writeCanonical(RelaxedBodyHasher.canonicalize(pieces[2]));
      expect(copy.digest().equals(createHash('sha256').update(want).digest()), JSON.stringify(body)).toBe(true);
    }
  });

  it('keeps a copied hash state independent of the original', () => {
    const shared = RelaxedBodyHasher.create();
    shared.write(Buffer.from('Shared  text \r\n'));
    const one = shared.copy();
    const two = shared.copy();
    one.write(Buffer.from('one\r\n'));
    two.write(Buffer.from('two\r\n'));
    expect(one.digest()).toEqual(relaxedBodyHash([Buffer.from('Shared text\r\none\r\n')]));
    expect(two.digest()).toEqual(relaxedBodyHash([Buffer.from('Shared text\r\ntwo\r\n')]));
  });
});

describe("the composer's body hash", () => {
  const literal = fc.string({
    unit: fc.constantFrom('a', 'Z', ' ', '  ', '\n', '\n\n', '=', 'é', '\t', ' \n', '<'),
    maxLength: 120,
  });
  const slotted = fc
    .array(fc.tuple(fc.constantFrom('unsubscribeUrl', 'preferencesUrl'), literal), { minLength: 1, maxLength: 4 })
    .chain((pairs) =>
      literal.map((head): SlottedText => {
        const out: string[] = [head];
        for (const [slot, tail] of pairs) out.push(slot, tail);
        return out;
      }),
    );

  it("equals the hash of each reader's whole body, whatever the content around the personal links", () => {
    fc.assert(
      fc.property(slotted, slotted, fc.integer({ min: 1, max: 10_000 }), (text, html, id) => {
        const template = prepareDigestMessage({ ...input, body: { subject: 'S', preheader: '', text, html } });
        for (const reader of [id, id + 1]) {
          const message = template.render({ id: reader, email: `reader${reader}@example.org` }, NOW);
          const { body } = splitMessage(message.chunks);
          expect(message.relaxedBodyHash.toString('base64')).toBe(relaxedBodyHash(body).toString('base64'));
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('signing', () => {
  it('signs the headers present, List-Unsubscribe-Post among them, and over-signs From', async () => {
    const template = prepareDigestMessage({
      ...input,
      body: { subject: 'S', preheader: '', text: ['Hi ', 'unsubscribeUrl', ''], html: ['<p>', 'preferencesUrl', ''] },
    });
    const message = template.render({ id: 1, email: 'reader1@example.org' }, NOW);
    const key = generateKeyPairSync('ed25519').privateKey;
    const [signature] = await signMessageChunks(
      message.chunks,
      [{ domain: 'example.org', selector: 's', privateKey: key }],
      NOW,
    );
    const header = (signature as Buffer).toString('latin1').replace(/\r\n[ \t]+/g, ' ');
    expect(header).toMatch(/^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=example\.org; s=s; t=\d+;/);
    const signed = /h=([^;]+);/.exec(header)?.[1]?.replace(/\s/g, '').split(':');
    expect(signed).toEqual([
      'from',
      'to',
      'subject',
      'date',
      'message-id',
      'mime-version',
      'content-type',
      'list-id',
      'list-unsubscribe',
      'list-unsubscribe-post',
      'feedback-id',
      'from',
    ]);
    // No line of the signature header is longer than 78 characters.
    for (const line of (signature as Buffer).toString('latin1').split('\r\n'))
      expect(line.length).toBeLessThanOrEqual(78);
  });

  it('signs only what is there: a message without list headers does not name them', async () => {
    const header = Buffer.from('From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n');
    const key = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const signature = (
      await signDkim({
        header,
        bodyHash: relaxedBodyHash([Buffer.from('x\r\n')]),
        keys: [{ domain: 'example.org', selector: 's', privateKey: key }],
        now: NOW,
      })
    )
      .toString('latin1')
      .replace(/\r\n[ \t]+/g, ' ');
    expect(/h=([^;]+);/.exec(signature)?.[1]?.replace(/\s/g, '')).toBe('from:to:subject:from');
  });
});

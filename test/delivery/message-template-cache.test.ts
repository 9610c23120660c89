/** The per-process cache of prepared digest messages: one preparation per digest, a failure retried, nothing lost. */
import { describe, expect, it } from 'vitest';
import type { MessageTemplate } from '../../src/delivery/deliver-batch.js';
import { createMessageTemplateCache } from '../../src/delivery/message-template-cache.js';
import type { Digest, DigestBody } from '../../src/digests/digest.js';

function digest(id: string): Digest {
  return {
    id,
    newsletterId: 'daily',
    status: 'sending',
    subject: 'The Daily Digest',
    articleIds: [],
    createdAt: '2026-11-27T06:00:00.000Z',
    counts: { recipients: 0, delivered: 0, failed: 0, skipped: 0 },
  };
}

const body: DigestBody = { subject: 'The Daily Digest', preheader: '', html: ['x'], text: ['x'] };

function template(label: string): MessageTemplate {
  return {
    render: () => ({
      raw: Buffer.from(label),
      envelope: { from: 'news@example.org', to: 'reader@example.org' },
      messageId: `<${label}@example.org>`,
    }),
  };
}

/** A promise settled from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('the prepared message cache', () => {
  it('batches of one digest share a single preparation', async () => {
    const cache = createMessageTemplateCache({
      loadBody: async () => body,
      prepare: () => template('one'),
    });
    const [a, b] = await Promise.all([cache.get(digest('daily-a1b2c3')), cache.get(digest('daily-a1b2c3'))]);
    expect(a).toBe(b);
    expect(cache.preparedCount).toBe(1);
  });

  it('a preparation that failed is tried again by the next batch', async () => {
    let loads = 0;
    const cache = createMessageTemplateCache({
      loadBody: async () => {
        loads += 1;
        if (loads === 1) throw new Error('READONLY replica');
        return body;
      },
      prepare: () => template('retried'),
    });
    await expect(cache.get(digest('daily-a1b2c3'))).rejects.toThrow('READONLY');
    await expect(cache.get(digest('daily-a1b2c3'))).resolves.toBeDefined();
    expect(loads).toBe(2);
  });

  it('an old preparation that fails late does not throw away the newer one that replaced it', async () => {
    const firstLoad = deferred<DigestBody>();
    let loads = 0;
    const cache = createMessageTemplateCache({
      loadBody: async (id) => {
        loads += 1;
        return id === 'daily-aaaa11' && loads === 1 ? firstLoad.promise : body;
      },
      prepare: (d) => template(d.id),
      maxEntries: 1,
    });
    const stale = cache.get(digest('daily-aaaa11'));
    await cache.get(digest('daily-bbbb22')); // evicts the first digest's pending preparation
    const fresh = await cache.get(digest('daily-aaaa11'));
    expect(cache.preparedCount).toBe(2);

    firstLoad.reject(new Error('connection reset'));
    await expect(stale).rejects.toThrow('connection reset');

    expect(await cache.get(digest('daily-aaaa11'))).toBe(fresh);
    expect(cache.preparedCount).toBe(2);
  });
});

/** `letterpress demo`, end to end: real Redis, real queue and workers, the embedded capture server. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { runLetterpress } from '../helpers/cli.js';
import { createRedis } from '../../src/redis.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

describe('the demo', () => {
  it('delivers the sample digest once to each sample reader and writes previews a person can open', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lp-demo-'));
    const result = await runLetterpress(['demo', '--out', out, '--json'], { REDIS_URL: TEST_REDIS_URL });
    expect(result.stderr).not.toMatch(/letterpress: /);
    expect(result.code).toBe(0);
    const summary = result.json as {
      prefix: string;
      digestId: string;
      articles: number;
      subscribers: number;
      delivered: number;
      index: string;
    };
    expect(summary.articles).toBe(12);
    expect(summary.subscribers).toBe(5);
    expect(summary.delivered).toBe(5);
    expect(summary.digestId).toMatch(/^daily-/);

    const emls = readdirSync(out).filter((f) => f.endsWith('.eml'));
    expect(emls).toHaveLength(5);
    const recipients = new Set<string>();
    for (const file of emls) {
      const mail = await simpleParser(readFileSync(join(out, file)));
      const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
      recipients.add(to?.value[0]?.address ?? '');
      expect(mail.subject).toMatch(/^The Daily Digest/);
      expect(mail.html).toContain('Harbour Gazette');
      expect(mail.text).toMatch(/unsubscribe/i);
      // The sample feed carries a utm_ link and a 1x1 pixel: neither survives.
      expect(String(mail.html)).not.toMatch(/utm_[a-z]+=/);
      expect(String(mail.html)).not.toMatch(/width="1"[^>]*height="1"/);
    }
    expect(recipients.size).toBe(5);

    const index = readFileSync(join(out, 'index.html'), 'utf8');
    for (const file of emls) expect(index).toContain(file.replace(/\.eml$/, '.html'));
    expect(summary.index).toBe(join(out, 'index.html'));

    // The demo deletes its own Redis keys afterwards.
    const redis = createRedis(TEST_REDIS_URL);
    try {
      const left = await redis.scanStream({ match: `{${summary.prefix}}:*`, count: 1000 }).toArray();
      expect(left.flat()).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findNewsletter, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('runs on embedded defaults with one newsletter "daily" that takes every section', () => {
    const config = loadConfig({});
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.prefix).toBe('lp');
    expect(config.newsletters).toEqual([expect.objectContaining({ id: 'daily', sections: [], maxArticles: 12 })]);
    expect(config.site.mailDomain).toBe('news.harbourgazette.example');
  });

  it('names every bad variable and the reason, all at once', () => {
    let message = '';
    try {
      loadConfig({ SMTP_POOL_SIZE: 'many', LETTERPRESS_PREFIX: 'has space', LETTERPRESS_SECRET: 'short' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/SMTP_POOL_SIZE: .*expected number/);
    expect(message).toMatch(/LETTERPRESS_PREFIX: must be 1-64 characters/);
    expect(message).toMatch(/LETTERPRESS_SECRET: must be at least 32 characters/);
  });

  it('refuses production without a secret, a relay and an https base URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrowError(
      /LETTERPRESS_SECRET: required.*SMTP_URL: required/,
    );
  });

  it('reads the SMTP timeouts and limits, with the RFC 5321 ten minutes for the final dot by default', () => {
    expect(loadConfig({}).smtp).toMatchObject({
      commandTimeoutMs: 30_000,
      connectTimeoutMs: 30_000,
      finalDotTimeoutMs: 600_000,
      maxMessagesPerConnection: 1_000,
      idleTimeoutMs: 30_000,
      allowPlaintextAuth: false,
    });
    expect(
      loadConfig({ SMTP_TIMEOUT_MS: '5000', SMTP_FINAL_DOT_TIMEOUT_MS: '120000', SMTP_ALLOW_PLAINTEXT_AUTH: 'true' })
        .smtp,
    ).toMatchObject({
      commandTimeoutMs: 5_000,
      connectTimeoutMs: 30_000,
      finalDotTimeoutMs: 120_000,
      allowPlaintextAuth: true,
    });
  });

  it('refuses at start a relay URL whose EHLO name is a bare host name, or whose password could only go in clear text', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problems({ SMTP_URL: 'smtp://relay.example.org:587?name=mailer' })).toMatch(
      /SMTP_URL: the EHLO name "mailer" must be a domain/,
    );
    const plainText = problems({ SMTP_URL: 'smtp://desk:s3cret@relay.example.org:25?ignoreTLS=true' });
    expect(plainText).toMatch(
      /SMTP_URL: ignoreTLS=true with a user and password would send the password in clear text/,
    );
    expect(plainText).not.toContain('s3cret');
    expect(
      problems({ SMTP_URL: 'smtp://desk:s3cret@127.0.0.1:25?ignoreTLS=true', SMTP_ALLOW_PLAINTEXT_AUTH: 'true' }),
    ).toBe('');
  });

  it('requires all three DKIM variables or none', () => {
    expect(() => loadConfig({ DKIM_DOMAIN: 'example.org' })).toThrowError(/set all three or none/);
  });

  it('reads newsletters from the config file and reports a bad field by its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-config-'));
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({
        newsletters: [{ id: 'weekend', name: 'The Weekender', sections: ['Culture'], maxArticles: 5 }],
      }),
    );
    const config = loadConfig({ LETTERPRESS_CONFIG: good });
    expect(findNewsletter(config, 'weekend')).toMatchObject({
      name: 'The Weekender',
      sections: ['Culture'],
      maxArticles: 5,
    });
    expect(() => findNewsletter(config, 'daily')).toThrowError(/not configured \(known: weekend\)/);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ newsletters: [{ id: 'Bad Id!', name: 'x', maxArticles: 0 }] }));
    expect(() => loadConfig({ LETTERPRESS_CONFIG: bad })).toThrowError(
      /newsletters\.0\.id: must be 1-40 characters.*newsletters\.0\.maxArticles/,
    );

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "site": ');
    expect(() => loadConfig({ LETTERPRESS_CONFIG: broken })).toThrowError(/not valid JSON/);
  });
});

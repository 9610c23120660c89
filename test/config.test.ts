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

  it('takes each newsletter’s image policy (remote by default) and names a wrong one and a bad image budget', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-config-'));
    const file = join(dir, 'images.json');
    writeFileSync(
      file,
      JSON.stringify({
        newsletters: [
          { id: 'daily', name: 'Daily' },
          { id: 'culture', name: 'Culture', images: 'embedded' },
        ],
      }),
    );
    const config = loadConfig({ LETTERPRESS_CONFIG: file, EMBEDDED_IMAGES_MAX_BYTES: '300000' });
    expect(config.newsletters.map((n) => n.images)).toEqual(['remote', 'embedded']);
    expect(config.images).toEqual({ fetchMaxBytes: 15 * 1024 * 1024, fetchTimeoutMs: 15_000, budgetBytes: 300_000 });

    writeFileSync(file, JSON.stringify({ newsletters: [{ id: 'daily', name: 'Daily', images: 'inline' }] }));
    expect(() => loadConfig({ LETTERPRESS_CONFIG: file })).toThrowError(
      /newsletters\.0\.images: .*"remote"\|"embedded"\|"none"/,
    );
    let message = '';
    try {
      loadConfig({ EMBEDDED_IMAGES_MAX_BYTES: 'lots', IMAGE_FETCH_TIMEOUT_MS: '5' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/EMBEDDED_IMAGES_MAX_BYTES: .*expected number/);
    expect(message).toMatch(/IMAGE_FETCH_TIMEOUT_MS: .*>=100/);
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findNewsletter, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('runs on embedded defaults with one newsletter "daily" that takes every section', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379' });
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

  it('sends without a rate limit unless SEND_RATE_PER_SECOND is set, and refuses a rate that is not positive', () => {
    expect(loadConfig({}).sendRate.perSecond).toBeUndefined();
    expect(loadConfig({ SEND_RATE_PER_SECOND: '' }).sendRate.perSecond).toBeUndefined();
    expect(loadConfig({ SEND_RATE_PER_SECOND: '0.5' }).sendRate.perSecond).toBe(0.5);
    expect(() => loadConfig({ SEND_RATE_PER_SECOND: '-5' })).toThrowError(/SEND_RATE_PER_SECOND/);
    expect(() => loadConfig({ SEND_RATE_PER_SECOND: 'fast' })).toThrowError(/SEND_RATE_PER_SECOND/);
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

const PRODUCTION_SITE = {
  name: 'The Harbour Gazette',
  baseUrl: 'https://news.harbourgazette.example',
  from: '"The Harbour Gazette" <newsletter@harbourgazette.example>',
  postalAddress: 'The Harbour Gazette, 12 Quay Street, Port Ellery, PE1 2AB',
};

/** Writes a config file into a fresh folder and returns its path. */
function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'lp-config-')), 'letterpress.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** A complete production environment; each test spoils one thing. */
function productionEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    LETTERPRESS_SECRET: 'kQ3vN8zR1tY6wB0xC4mL7pD2sF9gH5jA',
    LETTERPRESS_SUPPRESSION_KEY: 'Zp4tW9eK2uX7nV0qB5yM8rL3cH6jD1gS',
    SMTP_URL: 'smtps://news:relay-password@smtp.harbourgazette.example:465',
    LETTERPRESS_CONFIG: configFile({ site: PRODUCTION_SITE }),
    ...overrides,
  };
}

function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  return '(no error)';
}

describe('production refuses weak secrets', () => {
  it('refuses production without a suppression key, or with the signing secret as that key', () => {
    expect(problemsOf(productionEnv({ LETTERPRESS_SUPPRESSION_KEY: undefined }))).toMatch(
      /LETTERPRESS_SUPPRESSION_KEY: required when NODE_ENV=production/,
    );
    expect(problemsOf(productionEnv({ LETTERPRESS_SUPPRESSION_KEY: 'kQ3vN8zR1tY6wB0xC4mL7pD2sF9gH5jA' }))).toMatch(
      /LETTERPRESS_SUPPRESSION_KEY: must differ from LETTERPRESS_SECRET/,
    );
    expect(problemsOf(productionEnv({ LETTERPRESS_SUPPRESSION_KEY: 'y'.repeat(40) }))).toMatch(
      /LETTERPRESS_SUPPRESSION_KEY: .*one character repeated/,
    );
  });

  it('starts with a strong secret, a relay and a complete config file', () => {
    const config = loadConfig(productionEnv());
    expect(config.isProduction).toBe(true);
    expect(config.isDevelopmentSecret).toBe(false);
  });

  it.each([
    [
      'the public development secret set explicitly',
      'letterpress-development-secret-not-for-production',
      /public development secret/,
    ],
    ['one repeated character', 'x'.repeat(40), /one character repeated/],
    ['a few characters over and over', 'abcabcabcabcabcabcabcabcabcabcabc', /only 3 different characters/],
    ['whitespace only', ' '.repeat(40), /only whitespace/],
    ['a secret pasted with a trailing space', 'kQ3vN8zR1tY6wB0xC4mL7pD2sF9gH5jA ', /starts or ends with whitespace/],
  ])('refuses %s as LETTERPRESS_SECRET', (_name, secret, reason) => {
    expect(problemsOf(productionEnv({ LETTERPRESS_SECRET: secret }))).toMatch(
      new RegExp(`LETTERPRESS_SECRET: .*${reason.source}`),
    );
  });

  it('refuses a WEBHOOK_SECRET equal to LETTERPRESS_SECRET, and an editor token reusing either', () => {
    const secret = 'kQ3vN8zR1tY6wB0xC4mL7pD2sF9gH5jA';
    const message = problemsOf(productionEnv({ WEBHOOK_SECRET: secret, EDITOR_TOKENS: `maggie:${secret}` }));
    expect(message).toMatch(/WEBHOOK_SECRET: must differ from LETTERPRESS_SECRET/);
    expect(message).toMatch(/EDITOR_TOKENS \(maggie\): must differ from LETTERPRESS_SECRET/);
    expect(problemsOf(productionEnv({ WEBHOOK_SECRET: 'z'.repeat(32) }))).toMatch(
      /WEBHOOK_SECRET: is one character repeated/,
    );
  });

  it('development still runs on the development secret, and knows when it was set by hand', () => {
    expect(loadConfig({}).isDevelopmentSecret).toBe(true);
    const explicit = loadConfig({ LETTERPRESS_SECRET: 'letterpress-development-secret-not-for-production' });
    expect(explicit.isDevelopmentSecret).toBe(true);
  });

  it('refuses a secret of whitespace even in development', () => {
    expect(problemsOf({ LETTERPRESS_SECRET: ' '.repeat(40) })).toMatch(
      /LETTERPRESS_SECRET: must not be only whitespace/,
    );
  });
});

describe('configuration, all at once and strict', () => {
  it('lists environment and config file problems together in one error', () => {
    const message = problemsOf({
      SMTP_POOL_SIZE: 'many',
      PORT: '99999',
      LETTERPRESS_CONFIG: configFile({ site: { baseUrl: 'ftp://files.example' }, newsletters: [{ id: 'x' }] }),
    });
    expect(message).toMatch(/SMTP_POOL_SIZE: /);
    expect(message).toMatch(/PORT: /);
    expect(message).toMatch(/site\.baseUrl: must be an http\(s\) URL, not ftp:/);
    expect(message).toMatch(/newsletters\.0\.name: /);
  });

  it('refuses unknown keys by name, at every level of the file', () => {
    const path = configFile({
      sitee: { name: 'Typo' },
      site: { nmae: 'The Gazette' },
      newsletters: [{ id: 'daily', name: 'Daily', maxArticle: 5 }],
    });
    const message = problemsOf({ LETTERPRESS_CONFIG: path });
    expect(message).toContain(`${path}: sitee: unknown field`);
    expect(message).toContain(`${path}: site.nmae: unknown field`);
    expect(message).toContain(`${path}: newsletters.0.maxArticle: unknown field`);
  });

  it.each([
    ['a name without an address', 'The Gazette', /site\.from: .*not a mailbox/],
    ['two addresses', 'a@harbourgazette.example, b@harbourgazette.example', /site\.from: must be exactly one mailbox/],
    [
      'a header injected after a line break',
      '"A" <a@harbourgazette.example>\r\nBcc: all@example.org',
      /site\.from: must be one line/,
    ],
    ['an address without a domain', '"Desk" <desk@>', /site\.from: /],
  ])('checks from as a mailbox at start: refuses %s', (_name, from, reason) => {
    expect(problemsOf({ LETTERPRESS_CONFIG: configFile({ site: { from } }) })).toMatch(reason);
  });

  it.each([
    ['a display name', '"Desk" <unsubscribe@harbourgazette.example>'],
    ['a line break', 'unsubscribe@harbourgazette.example\r\nBcc: all@example.org'],
    ['no domain', 'unsubscribe@'],
  ])('refuses an unsubscribe mailbox with %s, naming the field', (_name, unsubscribeMailbox) => {
    expect(problemsOf({ LETTERPRESS_CONFIG: configFile({ site: { unsubscribeMailbox } }) })).toMatch(
      /site\.unsubscribeMailbox: must be a bare address/,
    );
  });

  it('checks replyTo and each newsletter’s own from and replyTo too, and accepts proper mailboxes', () => {
    const message = problemsOf({
      LETTERPRESS_CONFIG: configFile({
        site: { replyTo: 'letters at harbourgazette' },
        newsletters: [{ id: 'daily', name: 'Daily', from: 'Group: a@x.example, b@x.example;', replyTo: 'nobody' }],
      }),
    });
    expect(message).toMatch(/site\.replyTo: /);
    expect(message).toMatch(/newsletters\.0\.from: must be exactly one mailbox/);
    expect(message).toMatch(/newsletters\.0\.replyTo: /);

    const config = loadConfig({
      LETTERPRESS_CONFIG: configFile({
        site: {
          from: '"Zoë at The Gazette" <newsletter@harbourgazette.example>',
          replyTo: 'letters@harbourgazette.example',
        },
        newsletters: [{ id: 'daily', name: 'Daily', from: 'Daily Desk <daily@harbourgazette.example>' }],
      }),
    });
    expect(config.site.from).toBe('"Zoë at The Gazette" <newsletter@harbourgazette.example>');
    expect(config.newsletters[0]?.from).toBe('Daily Desk <daily@harbourgazette.example>');
  });

  it.each([
    ['javascript:alert(1)', /must be an http\(s\) URL/],
    ['news.harbourgazette.example', /must be an absolute URL/],
    ['https://editor:pw@news.harbourgazette.example', /must not carry a user, a password/],
    ['https://news.harbourgazette.example/?ref=mail', /must not carry .*a query/],
  ])('refuses the baseUrl %s', (baseUrl, reason) => {
    expect(problemsOf({ LETTERPRESS_CONFIG: configFile({ site: { baseUrl } }) })).toMatch(
      new RegExp(`site\\.baseUrl: ${reason.source}`),
    );
  });

  it('requires an https baseUrl in production, while development may use http', () => {
    const http = { ...PRODUCTION_SITE, baseUrl: 'http://news.harbourgazette.example' };
    expect(problemsOf(productionEnv({ LETTERPRESS_CONFIG: configFile({ site: http }) }))).toMatch(
      /site\.baseUrl: must be https when NODE_ENV=production/,
    );
    expect(loadConfig({ LETTERPRESS_CONFIG: configFile({ site: http }) }).site.baseUrl).toBe(http.baseUrl);
  });

  it('reports a missing DKIM key file, or a value that is no key, as a configuration problem', () => {
    const dkim = { DKIM_DOMAIN: 'harbourgazette.example', DKIM_SELECTOR: 'lp' };
    expect(problemsOf({ ...dkim, DKIM_PRIVATE_KEY: '/nonexistent/dkim.pem' })).toMatch(
      /DKIM_PRIVATE_KEY: cannot read the key file \/nonexistent\/dkim\.pem \(no such file\)/,
    );
    expect(problemsOf({ ...dkim, DKIM_PRIVATE_KEY: configFile('not a key') })).toMatch(
      /DKIM_PRIVATE_KEY: not a PEM private key/,
    );
  });

  it('takes an optional Ed25519 key for a second DKIM signature, and names the variable of every mistake in it', () => {
    const pem = (type: 'rsa' | 'ed25519' | 'ec', bits = 2048) =>
      (type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: bits })
        : type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
          : generateKeyPairSync('ed25519')
      ).privateKey
        .export({ type: 'pkcs8', format: 'pem' })
        .toString();
    const rsa = pem('rsa');
    const ed25519 = pem('ed25519');
    const dkim = { DKIM_DOMAIN: 'harbourgazette.example', DKIM_SELECTOR: 'lp', DKIM_PRIVATE_KEY: rsa };
    const config = loadConfig({
      ...dkim,
      DKIM_ED25519_SELECTOR: 'lpe',
      DKIM_ED25519_PRIVATE_KEY: configFile(ed25519),
    });
    expect(config.dkim).toEqual({
      domainName: 'harbourgazette.example',
      keySelector: 'lp',
      privateKey: rsa,
      ed25519: { keySelector: 'lpe', privateKey: ed25519 },
    });
    expect(loadConfig(dkim).dkim?.ed25519).toBeUndefined();
    expect(problemsOf({ ...dkim, DKIM_ED25519_SELECTOR: 'lpe' })).toMatch(
      /DKIM_ED25519_SELECTOR and DKIM_ED25519_PRIVATE_KEY: set both or none/,
    );
    expect(problemsOf({ DKIM_ED25519_SELECTOR: 'lpe', DKIM_ED25519_PRIVATE_KEY: ed25519 })).toMatch(
      /DKIM_ED25519_SELECTOR: a second signature needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY/,
    );
    expect(problemsOf({ ...dkim, DKIM_ED25519_SELECTOR: 'lp', DKIM_ED25519_PRIVATE_KEY: ed25519 })).toMatch(
      /DKIM_ED25519_SELECTOR: must differ from DKIM_SELECTOR/,
    );
    expect(problemsOf({ ...dkim, DKIM_ED25519_SELECTOR: 'lpe', DKIM_ED25519_PRIVATE_KEY: rsa })).toMatch(
      /DKIM_ED25519_PRIVATE_KEY: an rsa key; expected ed25519/,
    );
    expect(
      problemsOf({ ...dkim, DKIM_ED25519_SELECTOR: 'lpe', DKIM_ED25519_PRIVATE_KEY: '/nonexistent/ed.pem' }),
    ).toMatch(/DKIM_ED25519_PRIVATE_KEY: cannot read the key file \/nonexistent\/ed\.pem/);
    expect(problemsOf({ ...dkim, DKIM_PRIVATE_KEY: pem('rsa', 512) })).toMatch(
      /DKIM_PRIVATE_KEY: an RSA key of 512 bits; receivers refuse under 1024/,
    );
    expect(problemsOf({ ...dkim, DKIM_PRIVATE_KEY: pem('ec') })).toMatch(
      /DKIM_PRIVATE_KEY: a ec key; DKIM signs with rsa or ed25519 keys/,
    );
    // An Ed25519 key as the main key is accepted (it signs ed25519-sha256).
    expect(loadConfig({ ...dkim, DKIM_PRIVATE_KEY: ed25519 }).dkim?.privateKey).toBe(ed25519);
  });

  it('refuses production without a config file, or with one that leaves the sample paper’s identity in place', () => {
    expect(problemsOf(productionEnv({ LETTERPRESS_CONFIG: undefined }))).toMatch(
      /LETTERPRESS_CONFIG: required when NODE_ENV=production/,
    );
    const path = configFile({ site: { baseUrl: 'https://news.example.org' } });
    const message = problemsOf(productionEnv({ LETTERPRESS_CONFIG: path }));
    for (const field of ['name', 'from', 'postalAddress']) expect(message).toContain(`site.${field}: required`);
    expect(message).not.toContain('site.baseUrl: required');
  });

  it('says a mounted config path that is a folder is a folder (what Docker makes of a missing file)', () => {
    const folder = mkdtempSync(join(tmpdir(), 'lp-config-dir-'));
    expect(problemsOf({ LETTERPRESS_CONFIG: folder })).toMatch(/LETTERPRESS_CONFIG: .* is a folder, not a file/);
    expect(problemsOf({ LETTERPRESS_CONFIG: join(folder, 'missing.json') })).toMatch(/no such file/);
  });

  it('binds every interface unless HOST says otherwise, and refuses a HOST that is no address', () => {
    expect(loadConfig({}).http.host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '127.0.0.1' }).http.host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '::' }).http.host).toBe('::');
    expect(problemsOf({ HOST: '0.0.0.0; rm -rf /' })).toMatch(/HOST: must be an IP address or a host name/);
  });

  it('refuses FEED_ALLOW_PRIVATE_ADDRESSES in production', () => {
    expect(loadConfig({ FEED_ALLOW_PRIVATE_ADDRESSES: 'true' }).feed.allowPrivateAddresses).toBe(true);
    expect(problemsOf(productionEnv({ FEED_ALLOW_PRIVATE_ADDRESSES: 'true' }))).toMatch(
      /FEED_ALLOW_PRIVATE_ADDRESSES: development and tests only/,
    );
  });
});

describe('where Redis is: one server, a Cluster or Sentinel', () => {
  const problemsOf = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('reads a Cluster from REDIS_CLUSTER_NODES, with the nodes’ user, password and TLS', () => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: '10.0.0.5:6379, redis-2.internal:6380,[::1]:7000',
      REDIS_USERNAME: 'letterpress',
      REDIS_PASSWORD: 'node-password',
      REDIS_TLS: 'true',
    });
    expect(config.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.5', port: 6379 },
        { host: 'redis-2.internal', port: 6380 },
        { host: '::1', port: 7000 },
      ],
      username: 'letterpress',
      password: 'node-password',
      isTls: true,
    });
  });

  it('reads Sentinel from REDIS_SENTINELS and REDIS_SENTINEL_NAME, with the sentinels’ own password', () => {
    const config = loadConfig({
      REDIS_SENTINELS: '10.0.0.5:26379,10.0.0.6:26379',
      REDIS_SENTINEL_NAME: 'letterpress',
      REDIS_SENTINEL_PASSWORD: 'sentinel-password',
      REDIS_PASSWORD: 'node-password',
    });
    expect(config.redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: '10.0.0.6', port: 26379 },
      ],
      name: 'letterpress',
      sentinelPassword: 'sentinel-password',
      password: 'node-password',
      isTls: false,
    });
  });

  it('names a node list entry that is no host:port, and the port out of range', () => {
    const message = problemsOf({ REDIS_CLUSTER_NODES: '10.0.0.5:6379,10.0.0.6,redis:70000' });
    expect(message).toContain('REDIS_CLUSTER_NODES: entry 2 ("10.0.0.6"): expected host:port');
    expect(message).toContain('REDIS_CLUSTER_NODES: entry 3 ("redis:70000"): expected host:port');
    expect(problemsOf({ REDIS_SENTINELS: ' , ' })).toContain('REDIS_SENTINELS: must list at least one host:port');
  });

  it('refuses two ways to Redis at once, Sentinel without its name, and variables the chosen way does not use', () => {
    expect(problemsOf({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:6379' })).toContain(
      'REDIS_URL and REDIS_CLUSTER_NODES: set only one of them',
    );
    expect(problemsOf({ REDIS_SENTINELS: 'a:26379' })).toContain('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS');
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:6379', REDIS_SENTINEL_NAME: 'x' })).toContain(
      'REDIS_SENTINEL_NAME: only used with REDIS_SENTINELS',
    );
    const stray = problemsOf({ REDIS_URL: 'redis://a:6379', REDIS_PASSWORD: 'secret', REDIS_TLS: 'true' });
    expect(stray).toContain(
      'REDIS_PASSWORD: only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS; put it in REDIS_URL',
    );
    expect(stray).toContain('REDIS_TLS: only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS');
  });

  it('takes redis:// and rediss:// URLs only', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://:pw@cache.example.net:6380' }).redis).toEqual({
      kind: 'standalone',
      url: 'rediss://:pw@cache.example.net:6380',
    });
    expect(problemsOf({ REDIS_URL: 'http://127.0.0.1:6379' })).toContain(
      'REDIS_URL: must start with redis:// or rediss:// (TLS), not http://',
    );
    expect(problemsOf({ REDIS_URL: 'not a url' })).toContain('REDIS_URL: must be a URL');
  });
});

/** The readers' settings: what a careless or wrong value says at start-up, and what the defaults are. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const SECRET = 'reader-config-secret-0123456789abcdefghij';

describe('readers’ configuration', () => {
  it('has working defaults: 72-hour confirmations, modest rate limits, every provider webhook closed', () => {
    const config = loadConfig({});
    expect(config.subscribe).toEqual({
      confirmTtlHours: 72,
      allowedOrigins: [],
      ratePerIpPerHour: 20,
      ratePerAddressPerHour: 5,
    });
    expect(config.previousSecrets).toEqual([]);
    expect(config.transactional.concurrency).toBe(4);
    expect(config.bounces).toEqual({
      softLimit: 3,
      softWindowDays: 7,
      ses: undefined,
      sendgridPublicKey: undefined,
      mailgunSigningKey: undefined,
      postmark: undefined,
    });
  });

  it('names each bad value and why, all at once', () => {
    let message = '';
    try {
      loadConfig({
        LETTERPRESS_PREVIOUS_SECRETS: `${SECRET}, too-short`,
        SUBSCRIBE_ALLOWED_ORIGINS: 'https://www.example.org/subscribe, not a url',
        LETTERPRESS_SUPPRESSION_KEY: 'short',
        BOUNCES_POSTMARK_CREDENTIALS: 'postmark:short',
        CONFIRM_TOKEN_TTL_HOURS: '0',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/LETTERPRESS_PREVIOUS_SECRETS: entry 2: must be at least 32 characters/);
    expect(message).toMatch(/SUBSCRIBE_ALLOWED_ORIGINS: entry 1: expected an origin/);
    expect(message).toMatch(/LETTERPRESS_SUPPRESSION_KEY: must be at least 32 characters/);
    expect(message).toMatch(/BOUNCES_POSTMARK_CREDENTIALS: must be user:password/);
    expect(message).toMatch(/CONFIRM_TOKEN_TTL_HOURS/);
  });

  it('refuses a suppression key equal to the secret, and a test certificate in production', () => {
    expect(() => loadConfig({ LETTERPRESS_SECRET: SECRET, LETTERPRESS_SUPPRESSION_KEY: SECRET })).toThrowError(
      /LETTERPRESS_SUPPRESSION_KEY: must differ from LETTERPRESS_SECRET/,
    );
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        LETTERPRESS_SECRET: SECRET,
        SMTP_URL: 'smtp://relay.example.org',
        BOUNCES_SES_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:1:bounces',
        BOUNCES_SES_TEST_CERTIFICATE: '-----BEGIN CERTIFICATE-----x',
      }),
    ).toThrowError(/LETTERPRESS_SUPPRESSION_KEY: required.*BOUNCES_SES_TEST_CERTIFICATE: for tests only/);
  });

  it('reads lists and credentials into their parts', () => {
    const config = loadConfig({
      LETTERPRESS_PREVIOUS_SECRETS: `${SECRET}1, ${SECRET}2`,
      SUBSCRIBE_ALLOWED_ORIGINS: 'https://www.example.org, http://localhost:3000',
      BOUNCES_SES_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:1:a,arn:aws:sns:eu-west-1:1:b',
      BOUNCES_POSTMARK_CREDENTIALS: 'postmark:0123456789abcdefghijklmnop',
    });
    expect(config.previousSecrets).toEqual([`${SECRET}1`, `${SECRET}2`]);
    expect(config.subscribe.allowedOrigins).toEqual(['https://www.example.org', 'http://localhost:3000']);
    expect(config.bounces.ses?.topicArns).toEqual(['arn:aws:sns:eu-west-1:1:a', 'arn:aws:sns:eu-west-1:1:b']);
    expect(config.bounces.postmark).toEqual({ user: 'postmark', password: '0123456789abcdefghijklmnop' });
  });
});

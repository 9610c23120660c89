/** SMTP_URL with several relays: how the list is read, and how a bad list is refused at start, naming the relay. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { listRelays, relayListProblems } from '../../src/smtp/relay-list.js';

/** What loadConfig refuses, as its one-line message ('' when it starts). */
function startProblems(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('a list of relays in SMTP_URL', () => {
  it('reads each relay with its weight (1 unless given), the weight taken out of the URL the mailer sees', () => {
    const relays = listRelays(
      'smtps://news:pw@smtp-a.example.org:465?weight=3, smtp://smtp-b.example.org?name=mail.example.org&weight=2&requireTLS=true,smtp://[::1]:2525',
    );
    expect(relays).toEqual([
      { url: 'smtps://news:pw@smtp-a.example.org:465', weight: 3, label: 'smtp-a.example.org:465' },
      {
        url: 'smtp://smtp-b.example.org?name=mail.example.org&requireTLS=true',
        weight: 2,
        label: 'smtp-b.example.org:587',
      },
      { url: 'smtp://[::1]:2525', weight: 1, label: '[::1]:2525' },
    ]);
    expect(listRelays('smtp://relay.example.org:25')).toEqual([
      { url: 'smtp://relay.example.org:25', weight: 1, label: 'relay.example.org:25' },
    ]);
    expect(listRelays(undefined)).toEqual([]);
  });

  it('keeps a comma that is not followed by a scheme inside its URL (a password), and never shows the password', () => {
    const relays = listRelays('smtp://desk:pa,ss@a.example.org:587,smtp://b.example.org:587');
    expect(relays.map((relay) => relay.url)).toEqual([
      'smtp://desk:pa,ss@a.example.org:587',
      'smtp://b.example.org:587',
    ]);
    expect(relays.map((relay) => relay.label)).toEqual(['a.example.org:587', 'b.example.org:587']);
    expect(relayListProblems('smtp://desk:pa,ss@a.example.org:587,smtp://b.example.org:587', opts)).toEqual([]);
  });

  it('starts with two relays and the set-aside period, and keeps one relay named SMTP_URL as before', () => {
    const config = loadConfig({
      SMTP_URL: 'smtp://a.example.org:587?weight=1,smtp://b.example.org:587?weight=3',
      SMTP_RELAY_SET_ASIDE_MS: '5000',
    });
    expect(config.smtp).toMatchObject({ setAsideMs: 5_000, setAsideMaxMs: 600_000 });
    expect(listRelays(config.smtp.url).map((relay) => relay.weight)).toEqual([1, 3]);
    expect(loadConfig({}).smtp).toMatchObject({ setAsideMs: 60_000, setAsideMaxMs: 600_000 });
    expect(startProblems({ SMTP_URL: 'smtp://relay.example.org:587?name=mailer' })).toMatch(
      /SMTP_URL: the EHLO name "mailer" must be a domain/,
    );
  });

  it('refuses an empty item, naming its place in the list', () => {
    expect(startProblems({ SMTP_URL: 'smtp://a.example.org:587,,smtp://b.example.org:587' })).toMatch(
      /SMTP_URL\[2\]: empty item/,
    );
    expect(startProblems({ SMTP_URL: 'smtp://a.example.org:587, ' })).toMatch(/SMTP_URL\[2\]: empty item/);
    expect(startProblems({ SMTP_URL: ',smtp://a.example.org:587' })).toMatch(/SMTP_URL\[1\]: empty item/);
  });

  it('refuses a weight that is not a whole number from 1 to 1000, naming the relay', () => {
    for (const weight of ['0', '-1', '1.5', 'two', '', '1001', '007']) {
      expect(
        startProblems({ SMTP_URL: `smtp://a.example.org:587,smtp://b.example.org:587?weight=${weight}` }),
        weight,
      ).toMatch(/SMTP_URL\[2\]: weight must be a whole number from 1 to 1000/);
    }
    expect(startProblems({ SMTP_URL: 'smtp://a.example.org:587?weight=0' })).toMatch(/SMTP_URL: weight must be/);
    expect(startProblems({ SMTP_URL: 'smtp://a.example.org:587?weight=1&weight=2' })).toMatch(
      /SMTP_URL: weight is given more than once/,
    );
  });

  it('refuses a line break anywhere in the list (a URL parser would quietly drop it)', () => {
    expect(startProblems({ SMTP_URL: 'smtp://a.example.org:587,smtp://b.exa\r\nmple.org:587' })).toMatch(
      /SMTP_URL\[2\]: contains a line break/,
    );
    expect(startProblems({ SMTP_URL: 'smtp://a.example.org:587,\r\nsmtp://b.example.org:587' })).toMatch(
      /SMTP_URL\[2\]: contains a line break/,
    );
    expect(startProblems({ SMTP_URL: 'smtp://a.example.org:587?name=mail.example.org%0D%0AX' })).toMatch(
      /SMTP_URL: the EHLO name must not contain a line break/,
    );
  });

  it('names each bad relay of a list at once, the same relay twice and a password that would go in clear text included', () => {
    const message = startProblems({
      SMTP_URL: [
        'http://a.example.org',
        'smtp://desk:secret@b.example.org:25?ignoreTLS=true',
        'smtp://c.example.org:587',
        'smtp://c.example.org:587?weight=2',
        'smtp://d.example.org:587?name=mailer',
      ].join(','),
      SMTP_RELAY_SET_ASIDE_MS: '60000',
      SMTP_RELAY_SET_ASIDE_MAX_MS: '1000',
    });
    expect(message).toMatch(/SMTP_URL\[1\]: the scheme must be smtp:\/\/ or smtps:\/\//);
    expect(message).toMatch(/SMTP_URL\[2\]: ignoreTLS=true with a user and password/);
    expect(message).not.toMatch(/SMTP_URL\[3\]:/);
    expect(message).toMatch(/SMTP_URL\[4\]: the same relay \(host and port\) as SMTP_URL\[3\]/);
    expect(message).toMatch(/SMTP_URL\[5\]: the EHLO name "mailer"/);
    expect(message).toMatch(/SMTP_RELAY_SET_ASIDE_MAX_MS: must be at least SMTP_RELAY_SET_ASIDE_MS/);
    expect(message).not.toContain('secret');
  });
});

const opts = { allowPlaintextAuth: false };

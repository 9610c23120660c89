import { simpleParser } from 'mailparser';
import { composeTransactionalMessage } from '../src/mail/transactional-message.ts';
import { confirmationContent, welcomeContent } from '../src/mail/reader-messages.ts';
import { loadConfig } from '../src/config.ts';
import { launchBrowser } from '../test/helpers/browser.ts';
const config = loadConfig({});
const msg = await composeTransactionalMessage({ messageKey: 'confirmation', messageSeed: 'x', content: confirmationContent({ site: config.site, newsletterNames: ['The Daily Digest', 'Culture Weekly'], confirmUrl: 'https://news.harbourgazette.example/confirm/c12.-.tabc12.AAAAAAAAAAAAAAAAAAAAAA', expiresAt: new Date('2026-12-04T06:00:00Z'), ttlHours: 72 }), recipient: { id: 12, email: 'reader@example.org' }, site: config.site, secret: config.secret, now: new Date() });
const w = await composeTransactionalMessage({ messageKey: 'welcome', content: welcomeContent({ name: 'The Daily Digest', welcome: { message: 'Thank you for joining.\n\nIt arrives every morning at six.' } }), recipient: { id: 12, email: 'reader@example.org' }, site: config.site, secret: config.secret, list: { newsletter: { id: 'daily', name: 'The Daily Digest' }, links: { unsubscribeUrl: 'https://x/unsubscribe/u1', preferencesUrl: 'https://x/preferences/p1' } }, now: new Date() });
const browser = await launchBrowser();
for (const [name, m] of [['confirmation', msg], ['welcome', w]] as const) {
  const parsed = await simpleParser(m.raw);
  console.log(parsed.text);
  const page = await browser.newPage({ viewport: { width: 700, height: 900 } });
  await page.route('**/*', (r) => r.abort());
  await page.setContent(String(parsed.html));
  await page.screenshot({ path: `test-artifacts/screenshots/mail-${name}.png`, fullPage: true });
}
await browser.close();

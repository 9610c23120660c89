/**
 * The DNS records a sending domain publishes so receivers trust its mail: DKIM (the public half of the signing key),
 * SPF (which hosts may send for it) and DMARC (what receivers do when both fail, and where they report). Computed from
 * the configuration alone; `letterpress doctor` compares them with what DNS answers.
 */
import { createPublicKey } from 'node:crypto';
import { listRelays } from '../smtp/relay-list.js';
import type { Config } from '../config.js';

/** One TXT record to publish. */
export interface DnsRecord {
  kind: 'dkim' | 'spf' | 'dmarc';
  name: string;
  value: string;
  /** What to adapt before publishing, when anything. */
  note?: string;
}

/** The domain of the site's From address (`"Name" <news@example.org>` → `example.org`). */
export function senderDomain(from: string): string | undefined {
  const match = /@([^>\s"]+)>?\s*$/.exec(from.trim());
  return match?.[1]?.toLowerCase();
}

/** The DKIM TXT value for a PEM private key: RSA keys as SubjectPublicKeyInfo, Ed25519 keys as the raw 32 bytes. */
export function dkimRecordValue(privateKeyPem: string): string {
  const publicKey = createPublicKey(privateKeyPem);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  if (publicKey.asymmetricKeyType === 'ed25519') {
    return `v=DKIM1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}`;
  }
  return `v=DKIM1; k=rsa; p=${der.toString('base64')}`;
}

/** True for a relay on this machine (no SPF entry can name it usefully). */
function isLocalHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || !host.includes('.');
}

/** The records to publish for the configured sender, DKIM key and relay. */
export function dnsRecordsFor(config: Pick<Config, 'site' | 'dkim' | 'smtp'>): DnsRecord[] {
  const domain = senderDomain(config.site.from);
  if (!domain) return [];
  const records: DnsRecord[] = [];
  if (config.dkim) {
    records.push({
      kind: 'dkim',
      name: `${config.dkim.keySelector}._domainkey.${config.dkim.domainName}`,
      value: dkimRecordValue(config.dkim.privateKey),
    });
    if (config.dkim.ed25519) {
      records.push({
        kind: 'dkim',
        name: `${config.dkim.ed25519.keySelector}._domainkey.${config.dkim.domainName}`,
        value: dkimRecordValue(config.dkim.ed25519.privateKey),
      });
    }
  }
  // Every relay the workers send through, each once (several relays: SMTP_URL lists them).
  const relayHosts = [...new Set(listRelays(config.smtp.url).map((relay) => new URL(relay.url).hostname))].filter(
    (host) => !isLocalHost(host),
  );
  const spfMechanism = relayHosts.length > 0 ? relayHosts.map((host) => `a:${host}`).join(' ') : 'mx';
  records.push({
    kind: 'spf',
    name: domain,
    value: `v=spf1 ${spfMechanism} ~all`,
    note: 'if your relay is a provider, use the include: it documents instead; keep one SPF record per domain',
  });
  records.push({
    kind: 'dmarc',
    name: `_dmarc.${domain}`,
    value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}; adkim=r; aspf=r`,
    note: 'p=none only collects reports; move to p=quarantine once they show your mail passing',
  });
  return records;
}

/**
 * The shipped host lists the audit checks URLs against: known trackers (`lists/known-trackers.txt`) and link
 * redirectors and shorteners (`lists/link-redirectors.txt`). Plain text, one entry a line, read once when the module
 * loads; a malformed line stops the process at start with the file and line named, never a silently shorter list.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** One entry: a host (matching its subdomains too) and an optional path prefix. */
export interface HostRule {
  host: string;
  pathPrefix?: string;
}

const EntrySchema = z
  .string()
  .regex(
    /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?:\/\S*)?$/,
    'must be a lower-case host name, optionally followed by /path',
  );

/** Parses a list: `#` starts a comment, blank lines are skipped. Throws naming the list and line of a bad entry. */
export function parseHostList(text: string, name: string): HostRule[] {
  const rules: HostRule[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const entry = line.replace(/#.*$/, '').trim();
    if (entry === '') continue;
    const parsed = EntrySchema.safeParse(entry);
    if (!parsed.success) throw new Error(`${name} line ${index + 1}: "${entry}" ${parsed.error.issues[0]?.message}`);
    const slash = entry.indexOf('/');
    rules.push(slash === -1 ? { host: entry } : { host: entry.slice(0, slash), pathPrefix: entry.slice(slash) });
  }
  return rules;
}

function loadList(file: string): HostRule[] {
  return parseHostList(readFileSync(new URL(file, import.meta.url), 'utf8'), file);
}

/** Hosts of known trackers: analytics, advertising, email open and click tracking. */
export const KNOWN_TRACKERS: readonly HostRule[] = loadList('lists/known-trackers.txt');

/** Link redirectors and URL shorteners. */
export const LINK_REDIRECTORS: readonly HostRule[] = loadList('lists/link-redirectors.txt');

/** The first rule a URL matches: its host is the rule's host or below it, and its path starts with the rule's. */
export function matchHostList(url: URL, rules: readonly HostRule[]): HostRule | undefined {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  return rules.find(
    (rule) =>
      (host === rule.host || host.endsWith(`.${rule.host}`)) &&
      (rule.pathPrefix === undefined || url.pathname.startsWith(rule.pathPrefix)),
  );
}

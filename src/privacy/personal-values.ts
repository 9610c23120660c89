/**
 * A reader's personal values in a rendered copy (address, id, token, personal links) and their placeholders. The
 * audit replaces each copy's own values with the same placeholders, so two honest copies become identical, and then
 * looks for placeholders anywhere they are not allowed. Placeholders are also what findings show: an audit result
 * never holds an address or a token.
 */
import { escapeHtml } from '../escape-html.js';
import type { SubscriberLinks } from '../subscribers/tokens.js';

/** The placeholders, one per kind of personal value. */
export const Placeholder = {
  unsubscribeUrl: '{reader:unsubscribe-url}',
  preferencesUrl: '{reader:preferences-url}',
  token: '{reader:token}',
  address: '{reader:address}',
  id: '{reader:id}',
} as const;

/** Matches any placeholder. */
export const PLACEHOLDER_PATTERN = /\{reader:(?:unsubscribe-url|preferences-url|token|address|id)\}/;

/** The two personal links, the only places a token may appear in a body. */
export const OWN_LINK_PLACEHOLDERS: ReadonlySet<string> = new Set([
  Placeholder.unsubscribeUrl,
  Placeholder.preferencesUrl,
]);

/** What one reader's copy carries that no other copy may. */
export interface PersonalValues {
  address: string;
  id: number;
  links: SubscriberLinks;
}

/** The last path segment of a personal link: the signed token. */
function tokenOf(url: string): string | undefined {
  const segment = url
    .replace(/[?#].*$/, '')
    .split('/')
    .pop();
  return segment && segment.length >= 16 ? segment : undefined;
}

function replaceAll(text: string, value: string, placeholder: string, ignoreCase = false): string {
  if (value === '') return text;
  if (!ignoreCase) return text.split(value).join(placeholder);
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(new RegExp(escaped, 'gi'), placeholder);
}

/**
 * Replaces the reader's own values with placeholders: the personal links first (also as HTML escapes them), then the
 * bare tokens, the address (any case) and the id.
 */
export function replacePersonalValues(text: string, values: PersonalValues): string {
  let result = text;
  for (const [url, placeholder] of [
    [values.links.unsubscribeUrl, Placeholder.unsubscribeUrl],
    [values.links.preferencesUrl, Placeholder.preferencesUrl],
  ] as const) {
    result = replaceAll(result, url, placeholder);
    result = replaceAll(result, escapeHtml(url), placeholder);
  }
  for (const url of [values.links.unsubscribeUrl, values.links.preferencesUrl]) {
    const token = tokenOf(url);
    if (token) result = replaceAll(result, token, Placeholder.token);
  }
  result = replaceAll(result, values.address, Placeholder.address, true);
  return replaceAll(result, String(values.id), Placeholder.id);
}

/** The name of the personal value a text carries, for a finding's detail (`the reader’s token`). */
export function describePersonalValue(text: string): string {
  const match = PLACEHOLDER_PATTERN.exec(text)?.[0] ?? '';
  const names: Record<string, string> = {
    [Placeholder.unsubscribeUrl]: 'the reader’s unsubscribe link',
    [Placeholder.preferencesUrl]: 'the reader’s preferences link',
    [Placeholder.token]: 'the reader’s token',
    [Placeholder.address]: 'the reader’s address',
    [Placeholder.id]: 'the reader’s id',
  };
  return names[match] ?? 'a personal value';
}

/**
 * `SMTP_URL` as a list of relays: one URL, or several separated by commas, each with an optional `weight=N` query
 * parameter (a positive integer, default 1) that says its share of the messages:
 *
 *     SMTP_URL=smtps://news:pw@smtp-a.example.org:465?weight=3, smtp://smtp-b.example.org:587
 *
 * A comma starts a new relay only when what follows it is a URL scheme (`smtp://`, `smtps://`, ...) or nothing
 * (an empty item, refused); any other comma stays part of the URL it is in (a password, a query value). To be safe,
 * write a comma inside a URL as `%2C`. `weight` is removed before the URL is used. Relays are counted from 1 in
 * messages (`SMTP_URL[2]: ...`); a single relay is named `SMTP_URL` as before.
 */
import { relayLabel } from './relay-label.js';
import { parseRelayUrl, RelayUrlError, relayUrlProblems } from './relay-url.js';

/** One configured relay. */
export interface RelayEntry {
  /** The URL without its `weight` parameter: what the mailer and the probe are given. */
  url: string;
  /** Its share of the messages, relative to the other relays' weights. @defaultValue 1 */
  weight: number;
  /** `host:port`: safe to show and to use as a metrics label (see `relay-label.ts`). */
  label: string;
}

/** The largest weight accepted: enough for any split people write by hand. */
export const MAX_RELAY_WEIGHT = 1_000;

/** A scheme at the start of an item: what makes a comma a separator. */
const STARTS_WITH_SCHEME = /^\s*[a-z][a-z0-9+.-]*:\/\//i;

/** Splits the value into its items (untrimmed), following the comma rule of the module comment. */
function splitItems(value: string): string[] {
  const items: string[] = [];
  for (const piece of value.split(',')) {
    const isNewItem = items.length === 0 || piece.trim() === '' || STARTS_WITH_SCHEME.test(piece);
    // A piece after an empty item always starts its own item, so `a,,b` reports the empty one.
    const previous = items.at(-1);
    if (isNewItem || previous === undefined || previous.trim() === '') items.push(piece);
    else items[items.length - 1] = `${previous},${piece}`;
  }
  return items;
}

/** Takes `weight` out of one item's query; throws a RelayUrlError naming what is wrong. */
function takeWeight(item: string): { url: string; weight: number } {
  let parsed: URL;
  try {
    parsed = new URL(item);
  } catch {
    throw new RelayUrlError('not a URL');
  }
  const weights = parsed.searchParams.getAll('weight');
  if (weights.length === 0) return { url: item, weight: 1 };
  if (weights.length > 1) throw new RelayUrlError('weight is given more than once');
  const text = weights[0] ?? '';
  if (!/^[1-9]\d{0,5}$/.test(text) || Number(text) > MAX_RELAY_WEIGHT) {
    throw new RelayUrlError(`weight must be a whole number from 1 to ${MAX_RELAY_WEIGHT}, not ${JSON.stringify(text)}`);
  }
  // Rebuilt by hand: URL's serializer would re-encode the rest of the query; only `weight=N` is cut out.
  const url = item.replace(/([?&])weight=[^&#]*(&?)/, (_match, lead: string, tail: string) => (tail ? lead : ''));
  return { url: url.replace(/[?&]$/, ''), weight: Number(text) };
}

/** The problems of the list, each naming its relay (`SMTP_URL[2]: ...`, or `SMTP_URL: ...` for a single relay). */
export function relayListProblems(value: string, options: { allowPlaintextAuth: boolean }): string[] {
  const items = splitItems(value);
  const name = (index: number) => (items.length === 1 ? 'SMTP_URL' : `SMTP_URL[${index + 1}]`);
  const problems: string[] = [];
  const labels = new Map<string, number>();
  items.forEach((raw, index) => {
    const item = raw.trim();
    // Before anything else: a URL parser quietly drops line breaks and tabs, so they are refused wherever they are.
    if (/[\r\n]/.test(raw)) {
      problems.push(`${name(index)}: contains a line break`);
      return;
    }
    if ([...raw].some((character) => character < ' ' || character === '\u007f')) {
      problems.push(`${name(index)}: contains a control character`);
      return;
    }
    if (item === '') {
      problems.push(`${name(index)}: empty item (two commas in a row, or a comma at either end)`);
      return;
    }
    try {
      const { url } = takeWeight(item);
      const found = relayUrlProblems(url, options).map((line) => line.replace(/^SMTP_URL: /, `${name(index)}: `));
      problems.push(...found);
      if (found.length > 0) return;
      if (parseRelayUrl(url).host.includes(',')) {
        problems.push(`${name(index)}: the host contains a comma; separate relays with a comma and their scheme`);
        return;
      }
      const label = relayLabel(url);
      const first = labels.get(label);
      if (first !== undefined) {
        problems.push(`${name(index)}: the same relay (host and port) as SMTP_URL[${first + 1}]`);
      } else labels.set(label, index);
    } catch (error) {
      problems.push(`${name(index)}: ${(error as Error).message}`);
    }
  });
  return problems;
}

/**
 * The relays of a checked `SMTP_URL` (see `relayListProblems`), in order; none when it is unset. Throws a
 * RelayUrlError on a value that was not checked first.
 */
export function listRelays(value: string | undefined): RelayEntry[] {
  if (!value) return [];
  return splitItems(value).map((raw) => {
    const { url, weight } = takeWeight(raw.trim());
    return { url, weight, label: relayLabel(url) };
  });
}

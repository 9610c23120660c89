/**
 * Checks on one URL of a digest: does it load from another server, is it on a tracker's host, does it carry a
 * tracking parameter, does it go through a redirector. The tracking parameters and the unwrappable redirect wrappers
 * are the ingest link cleaner's own lists (`src/articles/clean-link.ts`), and tracking beacons the sanitizer's
 * (`isTrackingResource`): one list each, so the audit checks exactly what ingest promises to remove.
 */
import { isTrackingParameter, unwrapRedirect } from '../articles/clean-link.js';
import { isTrackingResource } from '../articles/sanitize-content.js';
import type { Finding, FindingPlace } from './finding.js';
import { KNOWN_TRACKERS, LINK_REDIRECTORS, matchHostList } from './host-lists.js';

/** Hosts whose stylesheets and files are web fonts. */
const FONT_HOSTS = [
  'fonts.googleapis.com',
  'fonts.gstatic.com',
  'use.typekit.net',
  'p.typekit.net',
  'fonts.bunny.net',
  'use.fontawesome.com',
  'fast.fonts.net',
  'cloud.typography.com',
  'fonts.cdnfonts.com',
];

/** Whether a client would fetch this URL from the network: http(s) or protocol-relative. `cid:`, `data:` and relative URLs load nothing. */
export function isRemoteUrl(url: string): boolean {
  return /^\s*(?:https?:)?\/\//i.test(url);
}

/** The URL parsed as an absolute http(s) URL (protocol-relative read as https), or undefined. */
export function parseRemoteUrl(url: string): URL | undefined {
  if (!isRemoteUrl(url)) return undefined;
  const trimmed = url.trim();
  try {
    return new URL(trimmed.startsWith('//') ? `https:${trimmed}` : trimmed);
  } catch {
    return undefined;
  }
}

/** Whether the URL is a web font or a font service's stylesheet. */
export function isFontUrl(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return (
    FONT_HOSTS.some((fontHost) => host === fontHost || host.endsWith(`.${fontHost}`)) ||
    /\.(?:woff2?|ttf|otf|eot)$/i.test(url.pathname)
  );
}

/** The tracking parameters a URL carries (query and `#key=value` fragment), by name. */
export function trackingParametersOf(url: URL): string[] {
  const host = url.hostname.toLowerCase();
  const names = [...url.searchParams.keys()];
  if (/^#[^/?#=&]+=/.test(url.hash)) names.push(...new URLSearchParams(url.hash.slice(1)).keys());
  return [...new Set(names.filter((name) => isTrackingParameter(name.trim(), host)))];
}

/**
 * Findings about one URL wherever it appears (`where` says how, e.g. `<a href>`): a tracker's host, tracking
 * parameters, and for links (`isLink`) a redirector or shortener.
 */
export function inspectUrl(raw: string, where: string, place: FindingPlace, isLink: boolean): Finding[] {
  const url = parseRemoteUrl(raw);
  if (!url) return [];
  const shown = url.href;
  const findings: Finding[] = [];
  const tracker = matchHostList(url, KNOWN_TRACKERS);
  if (tracker || isTrackingResource(shown)) {
    findings.push({
      kind: 'tracker-host',
      place,
      detail: `${where} points at a known tracker (${tracker ? `${tracker.host}${tracker.pathPrefix ?? ''}` : url.hostname})`,
      url: shown,
    });
  }
  const parameters = trackingParametersOf(url);
  if (parameters.length > 0) {
    findings.push({
      kind: 'tracking-parameter',
      place,
      detail: `${where} carries the tracking parameter${parameters.length > 1 ? 's' : ''} ${parameters.join(', ')}`,
      url: shown,
    });
  }
  if (isLink) {
    const redirector = matchHostList(url, LINK_REDIRECTORS);
    if (redirector || unwrapRedirect(shown) !== undefined) {
      findings.push({
        kind: 'redirect-link',
        place,
        detail: `${where} goes through a redirector (${redirector ? `${redirector.host}${redirector.pathPrefix ?? ''}` : url.hostname})`,
        url: shown,
      });
    }
  }
  return findings;
}

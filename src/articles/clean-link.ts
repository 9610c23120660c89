/**
 * Link cleaning: the "no tracking parameter survives ingest" half of the no-tracking pledge. Every article URL, every
 * link and every image source in article HTML passes through `cleanLink`.
 *
 * What it does, in order, up to {@link MAX_UNWRAP_DEPTH} times:
 * 1. unwraps a known redirect wrapper when the destination is carried inside the URL (Google's `/url?q=`,
 *    Facebook's `l.php?u=`, Outlook Safe Links, Proofpoint URL Defense, ...);
 * 2. removes tracking parameters from the query string (and from a `#key=value` fragment).
 *
 * What it deliberately keeps:
 * - wrappers whose destination is NOT in the URL (`t.co/…`, `feedproxy.google.com/~r/…`, SendGrid's `ls/click?upn=`,
 *   Mailchimp's `list-manage.com/track/click?u=&id=&e=`): the only way to learn the target would be to request the
 *   tracking URL itself, which is exactly the request we promise our readers never to make on their behalf. These
 *   links are kept as they are; the sanitizer removes such links only when they carry no visible content.
 * - everything else byte for byte: a URL without tracking parameters comes back unchanged (no re-encoding, no
 *   reordering, no trailing-slash games), so `cleanLink` is safe on any string.
 */

/**
 * Query parameters removed wherever they appear. Names are compared case-insensitively; anything starting with
 * `utm_` is removed as well (see {@link TRACKING_PARAMETER_PREFIXES}).
 *
 * - Google Analytics / Ads: `gclid`, `gclsrc`, `dclid`, `gbraid`, `wbraid`, `_ga`, `_gl`
 * - Meta (Facebook, Instagram): `fbclid`, `igshid`, `igsh`
 * - Microsoft Advertising: `msclkid`; Yandex: `yclid`, `ysclid`; Twitter/X: `twclid`; TikTok: `ttclid`;
 *   LinkedIn: `li_fat_id`, `trk`, `trkCampaign`; Pinterest: `epik`
 * - Mailchimp: `mc_eid`, `mc_cid`; HubSpot: `_hsenc`, `_hsmi`, `__hssc`, `__hstc`, `__hsfp`, `hsCtaTracking`;
 *   Marketo: `mkt_tok`; Vero: `vero_id`, `vero_conv`; ConvertKit: `ck_subscriber_id`; Omeda: `oly_enc_id`,
 *   `oly_anon_id`; Drip: `__s`; Klaviyo: `_kx`
 * - Adobe Analytics: `s_cid`; Alibaba: `spm`, `scm`; Twitter share: `ref_src`, `ref_url`
 * - Affiliate and click ids: `irclickid`, `rb_clickid`, `wickedid`, `_openstat`
 * - Publisher campaign ids that identify the mailing, not the page: `ncid`, `ocid`, `cmpid`, `sr_share`
 */
export const TRACKING_PARAMETERS: ReadonlySet<string> = new Set(
  [
    'gclid',
    'gclsrc',
    'dclid',
    'gbraid',
    'wbraid',
    '_ga',
    '_gl',
    'fbclid',
    'igshid',
    'igsh',
    'msclkid',
    'yclid',
    'ysclid',
    'twclid',
    'ttclid',
    'li_fat_id',
    'trk',
    'trkcampaign',
    'epik',
    'mc_eid',
    'mc_cid',
    '_hsenc',
    '_hsmi',
    '__hssc',
    '__hstc',
    '__hsfp',
    'hsctatracking',
    'mkt_tok',
    'vero_id',
    'vero_conv',
    'ck_subscriber_id',
    'oly_enc_id',
    'oly_anon_id',
    '__s',
    '_kx',
    's_cid',
    'spm',
    'scm',
    'ref_src',
    'ref_url',
    'irclickid',
    'rb_clickid',
    'wickedid',
    '_openstat',
    'ncid',
    'ocid',
    'cmpid',
    'sr_share',
  ].map((name) => name.toLowerCase()),
);

/** Parameter-name prefixes removed wherever they appear (Urchin/Google Analytics campaign tags and Matomo's). */
export const TRACKING_PARAMETER_PREFIXES: readonly string[] = [
  'utm_',
  'pk_campaign',
  'pk_kwd',
  'pk_source',
  'pk_medium',
  'mtm_',
];

/**
 * Parameters that are tracking only on particular sites (elsewhere the same name can select content):
 * Medium's `source` (which feed or page sent the reader), YouTube's and Spotify's share id `si`, X/Twitter's
 * share codes `s` and `t`.
 */
export const SITE_TRACKING_PARAMETERS: readonly { host: RegExp; names: readonly string[] }[] = [
  { host: /(?:^|\.)medium\.com$/, names: ['source'] },
  { host: /^(?:www\.|m\.|music\.)?youtube\.com$|^youtu\.be$/, names: ['si'] },
  { host: /^open\.spotify\.com$/, names: ['si'] },
  { host: /^(?:www\.|mobile\.)?(?:twitter|x)\.com$/, names: ['s', 't'] },
];

/** How many nested redirect wrappers `cleanLink` unwraps (a Safe Links URL around a Google redirect around a page). */
export const MAX_UNWRAP_DEPTH = 3;

/** True when a query parameter name is a known tracking parameter. */
export function isTrackingParameter(name: string, host?: string): boolean {
  const lower = name.toLowerCase();
  if (TRACKING_PARAMETERS.has(lower)) return true;
  if (host && SITE_TRACKING_PARAMETERS.some((rule) => rule.host.test(host) && rule.names.includes(lower))) return true;
  return TRACKING_PARAMETER_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

/** A redirect wrapper whose destination travels inside the wrapper URL. */
interface RedirectWrapper {
  /** Matches the wrapper's host name (lower case). */
  host: RegExp;
  /** Matches the path; omitted = any path. */
  path?: RegExp;
  /** Extracts the destination (not yet validated). */
  target: (url: URL) => string | undefined;
}

const param =
  (...names: string[]) =>
  (url: URL): string | undefined => {
    for (const name of names) {
      const value = url.searchParams.get(name);
      if (value) return value;
    }
    return undefined;
  };

/** Known wrappers. Each was checked against the service's documented or observed URL shape. */
const REDIRECT_WRAPPERS: readonly RedirectWrapper[] = [
  // Google search result and Gmail/Google Docs redirects: https://www.google.com/url?q=<target>&sa=...
  { host: /^(?:www\.)?google\.[a-z.]{2,6}$/, path: /^\/url$/, target: param('q', 'url') },
  // Facebook's link shim: https://l.facebook.com/l.php?u=<target>&h=...
  { host: /^(?:l|lm|m|www)\.facebook\.com$/, path: /^\/l\.php$/, target: param('u') },
  { host: /^l\.instagram\.com$/, target: param('u') },
  // https://out.reddit.com/t3_abc?url=<target>&token=...
  { host: /^out\.reddit\.com$/, target: param('url') },
  // https://www.linkedin.com/redir/redirect?url=<target>&urlhash=...
  { host: /^(?:www\.)?linkedin\.com$/, path: /^\/(?:redir\/redirect|safety\/go)\/?$/, target: param('url') },
  // YouTube description links: https://www.youtube.com/redirect?q=<target>&redir_token=...
  { host: /^(?:www\.)?youtube\.com$/, path: /^\/redirect$/, target: param('q') },
  // Microsoft Defender Safe Links: https://eur01.safelinks.protection.outlook.com/?url=<target>&data=...
  { host: /(?:^|\.)safelinks\.protection\.outlook\.com$/, target: param('url') },
  // Proofpoint URL Defense v2: https://urldefense.proofpoint.com/v2/url?u=<target with - for % and _ for />&d=...
  {
    host: /^urldefense\.proofpoint\.com$/,
    path: /^\/v2\/url$/,
    target: (url) => {
      const encoded = url.searchParams.get('u');
      if (!encoded) return undefined;
      return safeDecodeURIComponent(encoded.replace(/-/g, '%').replace(/_/g, '/'));
    },
  },
  // Proofpoint URL Defense v3: https://urldefense.com/v3/__<target>__;!!<signature>$
  {
    host: /^urldefense\.com$/,
    path: /^\/v3\/__/,
    target: (url) => {
      const raw = url.href.slice(url.href.indexOf('/v3/__') + '/v3/__'.length);
      const end = raw.indexOf('__;');
      return end > 0 ? raw.slice(0, end) : undefined;
    },
  },
  // Mandrill click tracking: https://mandrillapp.com/track/click/123/example.com?p=<base64 JSON {"p": "{\"url\":...}"}>
  {
    host: /^(?:[a-z0-9-]+\.)?mandrillapp\.com$/,
    path: /^\/track\/click\//,
    target: (url) => param('url', 'u')(url) ?? mandrillTarget(url.searchParams.get('p')),
  },
  // SendGrid and Mailchimp click wrappers: only when the destination is a parameter (older link formats).
  { host: /(?:^|\.)sendgrid\.net$/, path: /^\/(?:wf\/click|ls\/click)$/, target: param('url', 'u') },
  { host: /(?:^|\.)list-manage\.com$/, path: /^\/track\/click$/, target: param('url') },
  // Others seen in feeds: Slack, Tumblr, VK, Steam, Disqus (`url=<target>:<hash>`), href.li.
  { host: /^slack-redirect\.net$/, target: param('url') },
  { host: /^t\.umblr\.com$/, path: /^\/redirect$/, target: param('z') },
  { host: /^(?:away\.)?vk\.com$/, path: /^\/away\.php$/, target: param('to') },
  { host: /^steamcommunity\.com$/, path: /^\/linkfilter\/?$/, target: param('url', 'u') },
  {
    host: /^disq\.us$/,
    path: /^\/url$/,
    target: (url) => url.searchParams.get('url')?.replace(/:[A-Za-z0-9_-]{20,}$/, ''),
  },
  { host: /^href\.li$/, target: (url) => url.search.slice(1) || undefined },
];

/**
 * Removes tracking parameters and unwraps known redirect wrappers (see the module comment). Returns the input
 * unchanged when it is not an absolute http(s) URL or carries nothing to remove.
 */
export function cleanLink(url: string): string {
  let current = url;
  for (let depth = 0; depth <= MAX_UNWRAP_DEPTH; depth += 1) {
    const stripped = stripTrackingParameters(current);
    if (depth === MAX_UNWRAP_DEPTH) return stripped;
    const unwrapped = unwrapRedirect(stripped);
    if (unwrapped === undefined) return stripped;
    current = unwrapped;
  }
  return current;
}

/** The destination of a known redirect wrapper, if the URL is one and the destination is an http(s) URL. */
export function unwrapRedirect(url: string): string | undefined {
  const parsed = parseHttpUrl(url);
  if (!parsed) return undefined;
  const host = parsed.hostname.toLowerCase();
  for (const wrapper of REDIRECT_WRAPPERS) {
    if (!wrapper.host.test(host)) continue;
    if (wrapper.path && !wrapper.path.test(parsed.pathname)) continue;
    const target = wrapper.target(parsed)?.trim();
    if (target && parseHttpUrl(target)) return target;
  }
  return undefined;
}

/**
 * Removes tracking parameters from an http(s) URL's query string and from a `#key=value&...` fragment, keeping
 * every other byte of the URL as it was.
 */
export function stripTrackingParameters(url: string): string {
  const parsed = parseHttpUrl(url);
  if (!parsed) return url;
  const host = parsed.hostname.toLowerCase();
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  let fragment = hashAt === -1 ? undefined : url.slice(hashAt + 1);
  const queryAt = beforeHash.indexOf('?');
  const base = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  let query = queryAt === -1 ? undefined : beforeHash.slice(queryAt + 1);

  let changed = false;
  if (query !== undefined) {
    const kept = filterPairs(query, host);
    if (kept !== query) {
      changed = true;
      query = kept;
    }
  }
  // Some mailers put campaign tags in the fragment (`#utm_source=...`); only a fragment that is a list of
  // key=value pairs is touched, so `#section-2` and `#/route` stay as they are.
  if (fragment !== undefined && /^[^/?#=&]+=[^]*$/.test(fragment)) {
    const kept = filterPairs(fragment, host);
    if (kept !== fragment) {
      changed = true;
      fragment = kept;
    }
  }
  if (!changed) return url;
  let result = base;
  if (query) result += `?${query}`;
  if (fragment) result += `#${fragment}`;
  return result;
}

/** Drops tracking pairs from an `a=1&b=2` list; returns the input itself when nothing was dropped. */
function filterPairs(list: string, host: string): string {
  const pairs = list.split('&');
  const kept = pairs.filter((pair) => {
    const equals = pair.indexOf('=');
    const rawName = equals === -1 ? pair : pair.slice(0, equals);
    const name = safeDecodeURIComponent(rawName.replace(/\+/g, ' ')) ?? rawName;
    return !isTrackingParameter(name.trim(), host);
  });
  return kept.length === pairs.length ? list : kept.join('&');
}

function parseHttpUrl(value: string): URL | undefined {
  if (!/^https?:\/\//i.test(value)) return undefined;
  try {
    const parsed = new URL(value);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function safeDecodeURIComponent(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Mandrill's `p` parameter: base64 JSON whose `p` field is itself JSON holding `url`. */
function mandrillTarget(p: string | null): string | undefined {
  if (!p) return undefined;
  try {
    const outer: unknown = JSON.parse(Buffer.from(p, 'base64').toString('utf8'));
    if (!outer || typeof outer !== 'object') return undefined;
    const inner = (outer as Record<string, unknown>).p;
    const payload: unknown = typeof inner === 'string' ? JSON.parse(inner) : outer;
    if (payload && typeof payload === 'object') {
      const target = (payload as Record<string, unknown>).url;
      return typeof target === 'string' ? target : undefined;
    }
  } catch {
    // Not the expected shape: keep the wrapper.
  }
  return undefined;
}

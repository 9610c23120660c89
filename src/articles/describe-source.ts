/** How a source is named in logs and reports: private feed URLs often carry a key, which must not travel further. */

/** A source safe to log or report: no credentials, no query string; file paths and `webhook` as they are. */
export function describeSource(source: string): string {
  if (!/^https?:\/\//i.test(source)) return source;
  try {
    const url = new URL(source);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return '(unparseable url)';
  }
}

/** How a relay is named where people and dashboards see it. */

/** The `host:port` of a relay URL, safe to show and to use as a label (no user, no password, no options). */
export function relayLabel(url: string | undefined): string {
  if (!url) return 'none';
  try {
    const parsed = new URL(url);
    const port = parsed.port || (parsed.protocol === 'smtps:' ? '465' : '587');
    return `${parsed.hostname}:${port}`;
  } catch {
    return 'unparseable';
  }
}

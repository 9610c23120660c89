/** Escaping for HTML, shared by the digest slots, the public pages and the demo's index. */

/** Escapes text for HTML content and (quoted) attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

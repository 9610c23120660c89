/**
 * The email as the preview's frames show it. The newsroom's pages load nothing from another origin, so an image the
 * email would fetch from elsewhere (an article's picture on the publication's site) is shown as a grey box of the
 * same size with its alt text instead of being requested; images already on our own origin stay as they are.
 */

/** A neutral grey picture, inline, standing in for a remote image. */
const PLACEHOLDER = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="100%" height="100%" fill="#d9d4c7"/></svg>',
)}`;

/** Replaces the `src` of every image not on `ownOrigin` with the placeholder (markup otherwise untouched). */
export function withoutRemoteImages(html: string, ownOrigin: string): string {
  return html.replace(/(<img\b[^>]*?\ssrc=")([^"]*)(")/gi, (whole, before: string, src: string, after: string) => {
    if (src.startsWith('data:') || src.startsWith('/') || src.startsWith(`${ownOrigin}/`)) return whole;
    return `${before}${PLACEHOLDER}${after}`;
  });
}

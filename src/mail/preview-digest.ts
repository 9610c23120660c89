/** Previews of a stored digest for `letterpress digest preview`: HTML, text, or the whole message as `.eml`. */
import { renderPreview, type PrepareDigestMessageInput, type PreviewFormat } from './compose-message.js';

/** Input of `renderDigestPreview`: what `prepareDigestMessage` takes, plus the format. */
export interface RenderDigestPreviewInput extends PrepareDigestMessageInput {
  /** @defaultValue 'html' */
  format?: PreviewFormat;
  /** Date header of an `eml` preview. @defaultValue now */
  now?: Date;
}

/**
 * Renders a digest as the sample reader `reader@example.org` would see it, with placeholder links that unsubscribe
 * nobody: the HTML part, the text part, or the complete message.
 */
export function renderDigestPreview(input: RenderDigestPreviewInput): string {
  const { format = 'html', now = new Date(), ...message } = input;
  return renderPreview(message, format, now);
}

/** Filling a frozen render's recipient slots: the only per-recipient step of the HTML and text bodies. */
import { AppError } from '../errors.js';
import { RecipientSlot, type SlottedText } from './digest.js';

const SLOT_NAMES = new Set<string>(Object.values(RecipientSlot));

/** True when the name is one of the recipient slots. */
export function isRecipientSlot(name: string | undefined): name is RecipientSlot {
  return name !== undefined && SLOT_NAMES.has(name);
}

/**
 * Joins a slotted text with the values put in its slots. Values are inserted verbatim: for the HTML part pass values
 * escaped with `escapeHtml`. Throws `template_invalid` for a malformed slotted text (even length, unknown slot).
 */
export function fillSlots(text: SlottedText, values: Record<RecipientSlot, string>): string {
  if (text.length % 2 === 0)
    throw new AppError('template_invalid', 'slotted text must alternate literal, slot, literal');
  let result = text[0] ?? '';
  for (let i = 1; i < text.length; i += 2) {
    const slot = text[i];
    if (!isRecipientSlot(slot)) throw new AppError('template_invalid', `unknown recipient slot "${String(slot)}"`);
    result += values[slot] + (text[i + 1] ?? '');
  }
  return result;
}

export { escapeHtml } from '../escape-html.js';

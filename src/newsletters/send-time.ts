/**
 * Times as editors give and read them: an ISO 8601 time with an offset means exactly that instant; without one it is
 * a wall-clock time in the newsletter's zone (what a `datetime-local` field and `--at 2026-11-27T06:00` give). A wall
 * time that a daylight-saving change skips moves forward by the gap, as clocks do.
 */
import { DateTime } from 'luxon';
import { AppError } from '../errors.js';

const WITH_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;
const LOCAL = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$/;

/** Reads a send time (see the module comment); throws `input_invalid` naming `field` for anything else. */
export function parseSendTime(text: string, timeZone: string, field = 'at'): Date {
  const value = text.trim();
  const fail = () =>
    new AppError(
      'input_invalid',
      `${field}: ${JSON.stringify(value.slice(0, 40))} is not a time; use ISO 8601, e.g. 2026-11-27T06:00 (read in ${timeZone}) or 2026-11-27T06:00:00Z`,
    );
  if (value.length > 40) throw fail();
  let parsed: DateTime;
  if (WITH_OFFSET.test(value) && value.includes('T')) parsed = DateTime.fromISO(value, { setZone: true });
  else if (LOCAL.test(value)) parsed = DateTime.fromISO(value.replace(' ', 'T'), { zone: timeZone });
  else throw fail();
  if (!parsed.isValid) throw fail();
  return parsed.toJSDate();
}

/** A time as a `datetime-local` field's value in a zone: `2026-11-27T06:00`. */
export function toLocalInputValue(at: Date, timeZone: string): string {
  return DateTime.fromJSDate(at, { zone: timeZone }).toFormat("yyyy-LL-dd'T'HH:mm");
}

/** A time for people: `Thu 27 Nov 2025, 06:00 GMT` (with `06:00:05` when seconds matter), in the locale and zone. */
export function formatLocalTime(
  at: Date | string,
  timeZone: string,
  locale: string,
  options: { withSeconds?: boolean } = {},
): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  return new Intl.DateTimeFormat(locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...(options.withSeconds ? { second: '2-digit' } : {}),
    timeZone,
    timeZoneName: 'short',
  }).format(date);
}

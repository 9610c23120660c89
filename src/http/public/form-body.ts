/**
 * Reading a reader's form post: only `application/x-www-form-urlencoded` or `multipart/form-data`, at most
 * `FORM_MAX_BYTES`, files refused. What comes back is plain fields for a zod schema; anything else is a calm page.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Site } from '../../config.js';
import { checkOrigin } from '../access/require-token.js';
import type { HttpEnv } from '../http-env.js';
import { noticePage, sendPage, type Page } from './pages.js';

/** Largest form body read, in bytes; a reader's form is a few hundred. */
export const FORM_MAX_BYTES = 16 * 1024;

/** Refuses a form body over `FORM_MAX_BYTES` with a 413 page, while it arrives. */
export function limitFormBody(site: Pick<Site, 'name'>): MiddlewareHandler<HttpEnv> {
  return bodyLimit({
    maxSize: FORM_MAX_BYTES,
    onError: (c) => {
      const page = noticePage(
        site,
        { title: 'That was too much', message: 'The form sent far more than it holds. Please fill it in again.' },
        413,
      );
      return c.html(page.html, 413);
    },
  });
}

/** Form fields: a name maps to its value, or its values when it came more than once. Files are dropped. */
export type FormFields = Record<string, string | string[]>;

/** Reads the posted form, or returns the 415 page for another content type. */
export async function readForm(c: Context, site: Pick<Site, 'name'>): Promise<FormFields | Page> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' && type !== 'multipart/form-data') {
    return noticePage(
      site,
      { title: 'This is not a form', message: 'This address takes the form on our page, sent by a browser.' },
      415,
    );
  }
  const body = await c.req.parseBody({ all: true });
  const fields: FormFields = {};
  for (const [name, value] of Object.entries(body)) {
    const values = (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string');
    if (values.length === 1) fields[name] = values[0] as string;
    else if (values.length > 1) fields[name] = values;
  }
  return fields;
}

/** True when `readForm` answered with a page instead of fields. */
export function isPage(value: FormFields | Page): value is Page {
  return typeof (value as Page).html === 'string' && typeof (value as Page).status === 'number';
}

/** A field that may come once or many times, as a list. */
export function listField(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Refuses a post from any page but ours (the site's `baseUrl` origin, or the request's own) with a calm 403 page: the
 * buttons behind readers' links are only ever pressed on our pages.
 */
export function fromOurPagesOnly(site: Pick<Site, 'name' | 'baseUrl'>): MiddlewareHandler<HttpEnv> {
  const page = noticePage(
    site,
    { title: 'Not from our page', message: 'This was sent from a page that is not ours, so nothing was changed.' },
    403,
  );
  return checkOrigin(
    () => [new URL(site.baseUrl).origin],
    (c) => sendPage(c, page),
  );
}

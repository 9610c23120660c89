/**
 * Pages are Handlebars templates (`*.hbs` in this folder), compiled once per process on first use and escaped by the
 * engine (`{{value}}`), never by hand. A page names its view (`public/notice`) and its layout (`layouts/public`);
 * files under `partials/` are registered as partials by their path (`partials/button`).
 */
import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const VIEWS_DIRECTORY = fileURLToPath(new URL('.', import.meta.url));

type Template = Handlebars.TemplateDelegate<Record<string, unknown>>;

let compiled: Map<string, Template> | undefined;

function listTemplates(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return listTemplates(path);
    return entry.name.endsWith('.hbs') ? [path] : [];
  });
}

/** Compiles every template once, in an engine of our own (no global helpers or partials leak in). */
function templates(): Map<string, Template> {
  if (compiled) return compiled;
  const engine = Handlebars.create();
  const map = new Map<string, Template>();
  for (const file of listTemplates(VIEWS_DIRECTORY)) {
    const name = relative(VIEWS_DIRECTORY, file)
      .replace(/\\/g, '/')
      .replace(/\.hbs$/, '');
    const source = readFileSync(file, 'utf8');
    if (name.startsWith('partials/')) engine.registerPartial(name, source);
    map.set(name, engine.compile(source, { strict: false, noEscape: false }));
  }
  compiled = map;
  return map;
}

/** What every layout reads. */
export interface PageFrame {
  /** The page title (before the site name). */
  title: string;
  /** The publication's name. */
  siteName: string;
  /** `lang` of the page. @defaultValue 'en' */
  lang?: string;
  /** A CSP nonce for the page's own script, when it has one. */
  nonce?: string;
}

/** Renders a view inside a layout, as a complete HTML document. Throws when either template does not exist (a wiring mistake). */
export function renderPage(
  view: string,
  frame: PageFrame,
  data: Record<string, unknown> = {},
  layout = 'layouts/public',
): string {
  const all = templates();
  const body = all.get(view);
  const frameTemplate = all.get(layout);
  if (!body) throw new Error(`no view "${view}"`);
  if (!frameTemplate) throw new Error(`no layout "${layout}"`);
  const context = { lang: 'en', ...frame, ...data };
  // The doctype is written here, not in the layouts: Prettier's Handlebars printer drops it from a template.
  return `<!doctype html>\n${frameTemplate({ ...context, body: new Handlebars.SafeString(body(context)) })}`;
}

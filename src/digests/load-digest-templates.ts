/**
 * The message templates (`emails/digest.mjml` with its partials, `emails/digest.txt`, and the transactional messages'
 * pairs), compiled by Handlebars once per process and folder. Handlebars runs with escaping on and `strict: true`, in its own environment with no custom
 * helpers: partials come from `emails/partials/*.mjml` and are named after their file (`{{> article-card}}`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { AppError } from '../errors.js';
import type { DigestView } from './build-digest-view.js';

/** One message's compiled templates. */
export interface MessageTemplates<View> {
  /** Renders the MJML source (HTML-escaped values). */
  mjml: (view: View) => string;
  /** Renders the plain text (values verbatim). */
  text: (view: View) => string;
  /** The folder they came from. */
  dir: string;
  /** The MJML file's path, for error messages (its partials are inlined into it). */
  mjmlPath: string;
}

/** The compiled digest templates of one folder. */
export type DigestTemplates = MessageTemplates<DigestView>;

/** The repository's own `emails/` folder. */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../emails/', import.meta.url));

const cache = new Map<string, MessageTemplates<unknown>>();

function readTemplate(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('template_invalid', `cannot read template ${path}: ${(error as Error).message}`);
  }
}

function compile<View>(environment: typeof Handlebars, source: string, name: string, noEscape: boolean) {
  try {
    // precompile-time syntax errors surface here rather than on first use
    environment.precompile(source, { strict: true, noEscape });
    return environment.compile<View>(source, { strict: true, noEscape });
  } catch (error) {
    throw new AppError('template_invalid', `template ${name}: ${(error as Error).message}`);
  }
}

/**
 * Loads and compiles one message's pair of templates from a folder (`${name}.mjml` and `${name}.txt`, with the
 * folder's partials), once per process; later calls return the cached pair. The digest is `digest`; transactional
 * messages have their own names.
 */
export function loadMessageTemplates<View = DigestView>(
  name: string,
  dir: string = DEFAULT_TEMPLATES_DIR,
): MessageTemplates<View> {
  const cacheKey = `${dir}\0${name}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached as MessageTemplates<View>;

  const environment = Handlebars.create();
  const partialsDir = join(dir, 'partials');
  let partialFiles: string[] = [];
  try {
    partialFiles = readdirSync(partialsDir).filter((file) => file.endsWith('.mjml'));
  } catch {
    partialFiles = [];
  }
  for (const file of partialFiles) {
    const source = readTemplate(join(partialsDir, file));
    compile(environment, source, `partials/${file}`, false);
    environment.registerPartial(basename(file, '.mjml'), source);
  }
  const mjmlPath = join(dir, `${name}.mjml`);
  const mjml = compile(environment, readTemplate(mjmlPath), `${name}.mjml`, false);
  const text = compile(environment, readTemplate(join(dir, `${name}.txt`)), `${name}.txt`, true);

  const templates: MessageTemplates<View> = {
    dir,
    mjmlPath,
    mjml: (view) => runTemplate(mjml, view, `${name}.mjml`),
    text: (view) => runTemplate(text, view, `${name}.txt`),
  };
  cache.set(cacheKey, templates as MessageTemplates<unknown>);
  return templates;
}

/** Loads and compiles the digest templates of a folder, once per process; later calls return the cached pair. */
export function loadDigestTemplates(dir: string = DEFAULT_TEMPLATES_DIR): DigestTemplates {
  return loadMessageTemplates<DigestView>('digest', dir);
}

function runTemplate<View>(template: (view: View) => string, view: View, name: string): string {
  try {
    return template(view);
  } catch (error) {
    throw new AppError('template_invalid', `template ${name}: ${(error as Error).message}`);
  }
}

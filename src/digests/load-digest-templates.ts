/**
 * The digest templates (`emails/digest.mjml` with its partials, `emails/digest.txt`), compiled by Handlebars once per
 * process and folder. Handlebars runs with escaping on and `strict: true`, in its own environment with no custom
 * helpers: partials come from `emails/partials/*.mjml` and are named after their file (`{{> article-card}}`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { AppError } from '../errors.js';
import type { DigestView } from './build-digest-view.js';

/** The compiled templates of one folder. */
export interface DigestTemplates {
  /** Renders the MJML source (HTML-escaped values). */
  mjml: (view: DigestView) => string;
  /** Renders the plain text (values verbatim). */
  text: (view: DigestView) => string;
  /** The folder they came from. */
  dir: string;
}

/** The repository's own `emails/` folder. */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../emails/', import.meta.url));

const cache = new Map<string, DigestTemplates>();

function readTemplate(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new AppError('template_invalid', `cannot read template ${path}: ${(error as Error).message}`);
  }
}

function compile(environment: typeof Handlebars, source: string, name: string, noEscape: boolean) {
  try {
    // precompile-time syntax errors surface here rather than on first use
    environment.precompile(source, { strict: true, noEscape });
    return environment.compile<DigestView>(source, { strict: true, noEscape });
  } catch (error) {
    throw new AppError('template_invalid', `template ${name}: ${(error as Error).message}`);
  }
}

/** Loads and compiles the digest templates of a folder, once per process; later calls return the cached pair. */
export function loadDigestTemplates(dir: string = DEFAULT_TEMPLATES_DIR): DigestTemplates {
  const cached = cache.get(dir);
  if (cached) return cached;

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
  const mjml = compile(environment, readTemplate(join(dir, 'digest.mjml')), 'digest.mjml', false);
  const text = compile(environment, readTemplate(join(dir, 'digest.txt')), 'digest.txt', true);

  const templates: DigestTemplates = {
    dir,
    mjml: (view) => runTemplate(mjml, view, 'digest.mjml'),
    text: (view) => runTemplate(text, view, 'digest.txt'),
  };
  cache.set(dir, templates);
  return templates;
}

function runTemplate(template: (view: DigestView) => string, view: DigestView, name: string): string {
  try {
    return template(view);
  } catch (error) {
    throw new AppError('template_invalid', `template ${name}: ${(error as Error).message}`);
  }
}

/**
 * A well-formedness check for MJML. MJML's own parser recovers silently from an unclosed or mismatched tag (the
 * rest of the document ends up nested inside it), so `validationLevel: 'strict'` alone cannot catch one. This
 * tokenizer checks that every element is closed in order, as XML would.
 */

/** One problem found in a markup document, with its 1-based line. */
export interface MarkupProblem {
  line: number;
  message: string;
}

/** HTML elements that never have a closing tag (they may appear inside `mj-text`, `mj-raw` and friends). */
const VOID_ELEMENTS = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

const ATTRIBUTES = String.raw`(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>\x60]+))?)*\s*`;
const TOKEN = new RegExp(
  String.raw`<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<!DOCTYPE[^>]*>|</([A-Za-z][\w:-]*)\s*>|<([A-Za-z][\w:-]*)(${ATTRIBUTES})(/?)>|<`,
  'g',
);

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
}

/**
 * Lists the well-formedness problems of a markup document: unclosed, mismatched or stray closing tags, a `<` that
 * starts no tag, an unterminated comment, and a root other than `expectedRoot` (when given). Empty means well-formed.
 */
export function checkTemplateMarkup(markup: string, expectedRoot?: string): MarkupProblem[] {
  const problems: MarkupProblem[] = [];
  const open: { name: string; index: number }[] = [];
  let rootSeen = false;
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(markup); match !== null; match = TOKEN.exec(markup)) {
    const [token, closing, opening, , selfClosing] = match;
    if (token === '<') {
      const rest = markup.slice(match.index, match.index + 4);
      const message = rest.startsWith('<!--')
        ? 'comment is never closed'
        : 'a "<" that starts no tag (escape it as &lt;)';
      problems.push({ line: lineAt(markup, match.index), message });
      continue;
    }
    if (closing !== undefined) {
      const name = closing.toLowerCase();
      if (VOID_ELEMENTS.has(name)) continue;
      const top = open.pop();
      if (!top) {
        problems.push({ line: lineAt(markup, match.index), message: `</${closing}> closes nothing` });
      } else if (top.name !== name) {
        problems.push({
          line: lineAt(markup, match.index),
          message: `</${closing}> closes <${top.name}> opened on line ${lineAt(markup, top.index)}`,
        });
      }
      continue;
    }
    if (opening !== undefined) {
      const name = opening.toLowerCase();
      if (open.length === 0 && expectedRoot !== undefined) {
        if (rootSeen || name !== expectedRoot) {
          problems.push({
            line: lineAt(markup, match.index),
            message: `<${opening}> outside the <${expectedRoot}> root`,
          });
        }
        rootSeen = true;
      }
      if (selfClosing === '/' || VOID_ELEMENTS.has(name)) continue;
      open.push({ name, index: match.index });
    }
  }
  for (const element of open.reverse()) {
    problems.push({ line: lineAt(markup, element.index), message: `<${element.name}> is never closed` });
  }
  if (expectedRoot !== undefined && !rootSeen) problems.push({ line: 1, message: `no <${expectedRoot}> root element` });
  return problems;
}

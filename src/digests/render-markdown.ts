/**
 * An editor's Markdown (a note, a letter) as email HTML and as plain text, both from the same tokens. Raw HTML in the
 * Markdown is dropped and images become their alt text (an email of ours loads nothing from elsewhere on our behalf,
 * and the archive loads nothing from another origin); the HTML then goes through the article sanitizer, so links are
 * absolute http(s) or mailto and cleaned of tracking parameters exactly like an article's.
 */
import { Marked, type Tokens } from 'marked';
import { absoluteLink, sanitizeContent } from '../articles/sanitize-content.js';
import { escapeHtml } from '../escape-html.js';

/** Markdown rendered both ways. */
export interface RenderedMarkdown {
  /** Sanitized HTML: paragraphs, emphasis, links, lists, quotes, headings, code. */
  html: string;
  /** Plain text: links as `text (url)`, list items with `-`, quotes with `>`. */
  text: string;
}

const htmlMarked = new Marked({ async: false, gfm: true, breaks: false }).use({
  renderer: {
    html: () => '',
    image: ({ text }: Tokens.Image) => escapeHtml(text),
  },
});

/** The text renderer: every token becomes its words, links keep their (cleaned) address after the text. */
function textMarked(baseUrl: string) {
  return new Marked({ async: false, gfm: true, breaks: false }).use({
    renderer: {
      paragraph(token) {
        return `${this.parser.parseInline(token.tokens)}\n\n`;
      },
      heading(token) {
        return `${this.parser.parseInline(token.tokens).toUpperCase()}\n\n`;
      },
      strong(token) {
        return this.parser.parseInline(token.tokens);
      },
      em(token) {
        return this.parser.parseInline(token.tokens);
      },
      del(token) {
        return this.parser.parseInline(token.tokens);
      },
      codespan: ({ text }) => text,
      code: ({ text }) => `${text}\n\n`,
      link(token) {
        const words = this.parser.parseInline(token.tokens);
        const href = absoluteLink(token.href, baseUrl, ['http:', 'https:', 'mailto:']);
        return href && href !== words ? `${words} (${href})` : words;
      },
      image: ({ text }) => text,
      text(token) {
        return 'tokens' in token && token.tokens ? this.parser.parseInline(token.tokens) : token.text;
      },
      list(token) {
        const start = typeof token.start === 'number' ? token.start : 1;
        const items = token.items.map(
          (item, index) => `${token.ordered ? `${start + index}.` : '-'} ${this.parser.parse(item.tokens).trim()}`,
        );
        return `${items.join('\n')}\n\n`;
      },
      blockquote(token) {
        const quoted = this.parser.parse(token.tokens).trim().split('\n');
        return `${quoted.map((line) => `> ${line}`).join('\n')}\n\n`;
      },
      table(token) {
        const row = (cells: Tokens.TableCell[]) =>
          cells.map((cell) => this.parser.parseInline(cell.tokens)).join(' | ');
        return `${[row(token.header), ...token.rows.map(row)].join('\n')}\n\n`;
      },
      html: () => '',
      br: () => '\n',
      hr: () => '* * *\n\n',
      space: () => '',
      checkbox: ({ checked }) => (checked ? '[x] ' : '[ ] '),
    },
  });
}

/** Renders Markdown to sanitized HTML and to plain text; relative links resolve against the site's base URL. */
export function renderMarkdown(markdown: string, baseUrl: string): RenderedMarkdown {
  const source = markdown.replace(/\r\n?/g, '\n');
  const html = sanitizeContent(htmlMarked.parse(source) as string, baseUrl);
  const text = (textMarked(baseUrl).parse(source) as string).replace(/\n{3,}/g, '\n\n').trim();
  return { html, text };
}

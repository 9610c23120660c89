/** Plain-text layout helpers for the text part of a digest. */

/**
 * Wraps every line longer than `width` at spaces, keeping the line's indentation on its continuation lines. A word
 * longer than the width (a URL) is never broken: it gets a line of its own. Trailing spaces are removed.
 */
export function wrapText(text: string, width = 72): string {
  return text
    .split('\n')
    .map((line) => wrapLine(line.replace(/\s+$/, ''), width))
    .join('\n');
}

function wrapLine(line: string, width: number): string {
  if (line.length <= width) return line;
  const indent = /^\s*/.exec(line)?.[0] ?? '';
  const words = line.slice(indent.length).split(/ +/);
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    if (current === '') {
      current = word;
    } else if (indent.length + current.length + 1 + word.length <= width) {
      current += ` ${word}`;
    } else {
      lines.push(indent + current);
      current = word;
    }
  }
  if (current !== '') lines.push(indent + current);
  return lines.join('\n');
}

/** Collapses runs of whitespace (newlines included) into single spaces and trims the ends. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Shortens text to at most `max` characters at a word boundary, ending with an ellipsis when anything was cut. */
export function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const lastSpace = cut.lastIndexOf(' ');
  const base = lastSpace > max * 0.6 ? cut.slice(0, lastSpace) : cut;
  return `${base.replace(/[\s,;:.–—-]+$/, '')}…`;
}

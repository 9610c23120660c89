/**
 * CSS in a digest (style blocks and style attributes), read with postcss: every `url()` and `image-set()` source,
 * every `@import`, and `@font-face` sources. CSS that cannot be parsed but mentions a URL is reported as it is: a
 * mail client's parser may read it differently from ours, so it is not given the benefit of the doubt.
 */
import postcss, { type AtRule, type Root } from 'postcss';
import valueParser from 'postcss-value-parser';
import type { Finding, FindingPlace } from './finding.js';
import { inspectUrl, isFontUrl, parseRemoteUrl } from './inspect-url.js';
import { describePersonalValue, PLACEHOLDER_PATTERN } from './personal-values.js';

/** The URLs a CSS value refers to: `url(...)` arguments and the strings of `image-set(...)`. */
export function urlsInCssValue(value: string): string[] {
  const urls: string[] = [];
  valueParser(value).walk((node) => {
    if (node.type !== 'function') return;
    const name = node.value.toLowerCase();
    if (name === 'url') {
      const argument = node.nodes.find((child) => child.type === 'word' || child.type === 'string');
      if (argument) urls.push(argument.value);
    } else if (name.endsWith('image-set')) {
      for (const child of node.nodes) if (child.type === 'string') urls.push(child.value);
    }
  });
  return urls;
}

function isInFontFace(node: { parent?: unknown }): boolean {
  let parent = node.parent as { type?: string; name?: string; parent?: unknown } | undefined;
  while (parent) {
    if (parent.type === 'atrule' && parent.name?.toLowerCase() === 'font-face') return true;
    parent = parent.parent as typeof parent;
  }
  return false;
}

function importTarget(rule: AtRule): string | undefined {
  const first = valueParser(rule.params).nodes.find((node) => node.type !== 'space');
  if (!first) return undefined;
  if (first.type === 'string') return first.value;
  if (first.type === 'function' && first.value.toLowerCase() === 'url') return urlsInCssValue(rule.params)[0];
  return undefined;
}

/**
 * Findings in CSS: remote fonts (`@font-face`, a font service's `@import`), other remote URLs (`remote-css`), the
 * URLs' own tracker and parameter checks, and personal values. `where` names the block, e.g. `<style>` or
 * `<td style>`; `isDeclarationList` for a style attribute's content.
 */
export function inspectCss(css: string, where: string, place: FindingPlace, isDeclarationList: boolean): Finding[] {
  const findings: Finding[] = [];
  if (PLACEHOLDER_PATTERN.test(css)) {
    findings.push({ kind: 'personal-value', place, detail: `${describePersonalValue(css)} appears in ${where}` });
  }
  // Without these there is nothing to load (a backslash could spell `url` in CSS escapes, so it reads the long way).
  if (!/url|image-set|@import|\\/i.test(css)) return findings;
  let root: Root;
  try {
    root = postcss.parse(isDeclarationList ? `x{${css}}` : css);
  } catch {
    if (/url\s*\(|@import|image-set/i.test(css) && /(?:https?:)?\/\//i.test(css)) {
      findings.push({
        kind: 'remote-css',
        place,
        detail: `${where} holds CSS that cannot be parsed and refers to a URL`,
      });
    }
    return findings;
  }
  const report = (raw: string, how: string, isFont: boolean) => {
    const url = parseRemoteUrl(raw);
    if (!url) return;
    const kind = isFont || isFontUrl(url) ? 'remote-font' : 'remote-css';
    findings.push({ kind, place, detail: `${where} ${how} ${url.href}`, url: url.href });
    findings.push(...inspectUrl(raw, `${where} ${how}`, place, false));
  };
  root.walkAtRules((rule) => {
    if (rule.name.toLowerCase() !== 'import') return;
    const target = importTarget(rule);
    if (target) report(target, 'imports', false);
  });
  root.walkDecls((declaration) => {
    for (const raw of urlsInCssValue(declaration.value)) {
      report(raw, `${declaration.prop}: url() loads`, isInFontFace(declaration));
    }
  });
  return findings;
}

/** The declarations of a style attribute as lower-case property → value (last one wins); empty when unparseable. */
export function readDeclarations(style: string): Map<string, string> {
  const declarations = new Map<string, string>();
  if (style.trim() === '') return declarations;
  try {
    postcss.parse(`x{${style}}`).walkDecls((declaration) => {
      declarations.set(declaration.prop.toLowerCase(), declaration.value.toLowerCase().replace(/\s*!important$/, ''));
    });
  } catch {
    // An unparseable style hides nothing we can prove; the CSS checks report its URLs.
  }
  return declarations;
}

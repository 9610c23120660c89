/** The privacy facts are one source: the README's Privacy section is exactly what they generate. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FINDING_KIND_LIST } from '../../src/privacy/finding.js';
import {
  NEVER_COLLECTED_FACTS,
  README_PRIVACY_MARKERS,
  renderPrivacyMarkdown,
} from '../../src/privacy/privacy-facts.js';

describe('the privacy facts', () => {
  it('are what README.md says under Privacy (regenerate with scripts/update-readme-privacy.ts)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf(README_PRIVACY_MARKERS.start);
    const end = readme.indexOf(README_PRIVACY_MARKERS.end);
    expect(start, 'README.md has the privacy facts markers').toBeGreaterThan(0);
    expect(readme.slice(start + README_PRIVACY_MARKERS.start.length, end).trim()).toBe(renderPrivacyMarkdown());
  });

  it('document every finding kind, and tie every audited promise to kinds the audit has', () => {
    const markdown = renderPrivacyMarkdown();
    for (const kind of FINDING_KIND_LIST) expect(markdown).toContain(`| \`${kind}\` |`);
    for (const fact of NEVER_COLLECTED_FACTS) {
      for (const kind of fact.checkedBy) expect(FINDING_KIND_LIST).toContain(kind);
    }
  });
});

/**
 * Rewrites the generated part of README.md's "Privacy" section from `src/privacy/privacy-facts.ts`:
 * `node bin/run-ts.js scripts/update-readme-privacy.ts`. A test fails while the README and the facts disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { README_PRIVACY_MARKERS, renderPrivacyMarkdown } from '../src/privacy/privacy-facts.js';

const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = readme.indexOf(README_PRIVACY_MARKERS.start);
const end = readme.indexOf(README_PRIVACY_MARKERS.end);
if (start === -1 || end < start) {
  console.error(`README.md has no "${README_PRIVACY_MARKERS.start}" ... "${README_PRIVACY_MARKERS.end}" block`);
  process.exit(1);
}
const updated = `${readme.slice(0, start + README_PRIVACY_MARKERS.start.length)}\n${renderPrivacyMarkdown()}\n${readme.slice(end)}`;
writeFileSync(path, updated);
console.log(updated === readme ? 'README.md privacy section already up to date' : 'README.md privacy section updated');

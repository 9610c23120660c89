/**
 * The size of the email a reader receives. Gmail clips an HTML part over about 102 KB (hiding the footer and its
 * unsubscribe link), and every byte is paid once per reader by the relay, so the sample issue has a budget well
 * under that: the layout's own markup must stay lean as cards are added.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RenderedIssue } from '../../src/digests/render-issue.js';
import { renderSampleIssue, sampleFeedArticles, sampleReaderHtml } from '../helpers/sample-issue.js';

/** Most bytes the HTML part of the twelve-article sample issue may take. */
const SAMPLE_ISSUE_BUDGET_BYTES = 50 * 1024;

let issue: RenderedIssue;
let html: string;

beforeAll(async () => {
  issue = await renderSampleIssue();
  html = sampleReaderHtml(issue);
});

describe('the sample issue of twelve articles', () => {
  it('carries every article in an HTML part of at most 50 KB', () => {
    expect(issue.emailArticleIds).toHaveLength(sampleFeedArticles().length);
    expect(issue.emailArticleIds).toHaveLength(12);
    for (const bytes of [issue.htmlBytes, Buffer.byteLength(html)]) {
      expect(bytes, `the sample issue's HTML is ${bytes} bytes`).toBeLessThanOrEqual(SAMPLE_ISSUE_BUDGET_BYTES);
    }
  });

  it('shows every image with its alt text and the width it is laid out at', () => {
    const images = html.match(/<img\b[^>]*>/g) ?? [];
    expect(images).toHaveLength(12);
    for (const image of images) {
      expect(image).toMatch(/\salt="[^"]+"/);
      expect(image).toMatch(/\swidth="600"/);
    }
  });

  it('repeats no style block and no card wrapper: one section holds the whole issue', () => {
    expect(html.match(/<style\b/g)?.length).toBeLessThanOrEqual(6);
    expect(html.match(/class="mj-column-per-100/g)).toHaveLength(1);
  });
});

/**
 * The public archive: a newsletter's issues that went out (sending, paused or sent), each with its frozen web version.
 * Drafts, scheduled, ready and cancelled issues are never shown, whatever address is asked for.
 */
import { PUBLISHED_STATUSES, type Digest, type DigestWeb } from './digest.js';

/** What reading the archive needs. */
export interface ReadArchiveDeps {
  digests: {
    get(id: string): Promise<Digest | undefined>;
    getWeb(id: string): Promise<DigestWeb | undefined>;
    listByNewsletter(newsletterId: string, limit: number): Promise<Digest[]>;
  };
}

/** One issue in the archive. */
export interface ArchivedIssue {
  digest: Digest;
  web: DigestWeb;
  /** When it went out. */
  publishedAt: string;
}

/** Digests read from the newsletter's index to find its published issues (drafts and cancelled ones sit among them). */
const ARCHIVE_SCAN = 500;

function isPublished(digest: Digest): boolean {
  return PUBLISHED_STATUSES.includes(digest.status) && digest.sendRequestedAt !== undefined;
}

/** A newsletter's published issues, newest first, at most `limit`. */
export async function listArchive(
  deps: ReadArchiveDeps,
  newsletterId: string,
  limit: number,
): Promise<ArchivedIssue[]> {
  const published = (await deps.digests.listByNewsletter(newsletterId, ARCHIVE_SCAN))
    .filter(isPublished)
    .slice(0, limit);
  const webs = await Promise.all(published.map((digest) => deps.digests.getWeb(digest.id)));
  return published
    .flatMap((digest, i) => {
      const web = webs[i];
      return web ? [{ digest, web, publishedAt: digest.sendRequestedAt ?? digest.createdAt }] : [];
    })
    .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
}

/** One published issue of a newsletter, or undefined (unknown, another newsletter's, or not published). */
export async function readArchivedIssue(
  deps: ReadArchiveDeps,
  newsletterId: string,
  digestId: string,
): Promise<ArchivedIssue | undefined> {
  const digest = await deps.digests.get(digestId);
  if (!digest || digest.newsletterId !== newsletterId || !isPublished(digest)) return undefined;
  const web = await deps.digests.getWeb(digest.id);
  return web ? { digest, web, publishedAt: digest.sendRequestedAt ?? digest.createdAt } : undefined;
}

/**
 * The privacy audit of a digest: render it for two synthetic readers through the real composer (the same prepared
 * message the delivery workers send), then report every difference between the copies beyond address, personal links
 * and per-message headers, and everything in them that could tell anyone that a reader opened the email or clicked a
 * link (see `FINDING_KINDS`). The result is stored with the digest; it runs before every first send and a finding
 * that nobody allowed refuses the send.
 */
import { z } from 'zod';
import type { Digest, DigestBody } from '../digests/digest.js';
import { AppError, parseInput } from '../errors.js';
import type { DigestMessageTemplate } from '../mail/compose-message.js';
import type { SubscriberLinks } from '../subscribers/tokens.js';
import {
  FINDING_KINDS,
  FindingKindSchema,
  POLICY_ALLOWED_KINDS,
  type AuditResult,
  type Finding,
  type FindingKind,
} from './finding.js';
import { compareCopies, inspectHeaders, inspectText, readCopy, type ReadCopy } from './inspect-copies.js';
import { inspectHtml } from './inspect-html.js';

/** What the audit needs (the app provides all of it). */
export interface AuditDigestDeps {
  digests: {
    get(id: string): Promise<Digest | undefined>;
    getBody(id: string): Promise<DigestBody | undefined>;
  };
  /** Builds the digest's message exactly as the delivery workers do (images included). */
  prepareMessage(digest: Digest, body: DigestBody): Promise<Pick<DigestMessageTemplate, 'render'>>;
  /** A reader's personal links, as the composer makes them. */
  linksFor(claim: { subscriberId: number; newsletterId: string }): SubscriberLinks;
  audits: { save(result: AuditResult): Promise<void> };
  clock: () => Date;
}

/** Input of `auditDigest`. */
export interface AuditDigestInput {
  digestId: string;
  /** Kinds the editor allows for this send (`--allow-finding`). @defaultValue [] */
  allowKinds?: readonly string[];
}

/**
 * The two synthetic readers: ids no real subscriber reaches, addresses on reserved domains of the same length (so
 * their copies line up byte for byte) and different domains (so nothing may depend on the reader's provider).
 */
export const AUDIT_READERS = [
  { id: 918_273_645_501, email: 'audit-reader-one@example.net' },
  { id: 918_273_645_502, email: 'audit-reader-two@example.org' },
] as const;

/** Kinds an editor can never allow: they are the pledge itself (only address and personal links differ per reader). */
export const NEVER_ALLOWED_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'reader-difference',
  'personal-value',
]);

const AllowKindsSchema = z.array(FindingKindSchema).superRefine((kinds, context) => {
  for (const kind of kinds) {
    if (NEVER_ALLOWED_KINDS.has(kind)) {
      context.addIssue({ code: 'custom', message: `${kind} can never be allowed: ${FINDING_KINDS[kind]}` });
    }
  }
});

/** Audits a stored digest, stores the result with it and returns it. Throws `digest_not_found` for an unknown id. */
export async function auditDigest(deps: AuditDigestDeps, input: AuditDigestInput): Promise<AuditResult> {
  const digest = await deps.digests.get(input.digestId);
  const body = digest ? await deps.digests.getBody(digest.id) : undefined;
  if (!digest || !body) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  const result = await auditIssue(deps, { digest, body, allowKinds: input.allowKinds });
  await deps.audits.save(result);
  return result;
}

/**
 * Audits a digest's body as it is (a draft rendered for the editor's preview, or the frozen body) without storing
 * anything: the same two readers, the same comparison and inspections as before a send.
 */
export async function auditIssue(
  deps: Pick<AuditDigestDeps, 'prepareMessage' | 'linksFor' | 'clock'>,
  input: { digest: Digest; body: DigestBody; allowKinds?: readonly string[] },
): Promise<AuditResult> {
  const { digest, body } = input;
  const allowKinds = new Set(parseInput(AllowKindsSchema, [...(input.allowKinds ?? [])], 'allowed finding kinds'));
  const message = await deps.prepareMessage(digest, body);
  const now = deps.clock();
  const copies = await Promise.all(
    AUDIT_READERS.map((reader) =>
      readCopy(message.render(reader, now).raw, {
        address: reader.email,
        id: reader.id,
        links: deps.linksFor({ subscriberId: reader.id, newsletterId: digest.newsletterId }),
      }),
    ),
  );
  const [first, second] = copies as [ReadCopy, ReadCopy];
  const found = [...compareCopies(first, second), ...inspectCopy(first, body), ...inspectCopy(second, body)];
  const findings = allow(dedupe(found), allowKinds);
  const blocking = findings.filter((finding) => finding.allowedBy === undefined).length;
  return {
    digestId: digest.id,
    auditedAt: now.toISOString(),
    imagePolicy: body.images?.policy ?? 'remote',
    findings,
    allowedKinds: [...allowKinds],
    blocking,
    isPassed: blocking === 0,
  };
}

function inspectCopy(copy: ReadCopy, body: DigestBody): Finding[] {
  const policyRemoteImages = new Set(body.images?.policy === 'remote' ? body.images.remote : []);
  return [
    ...inspectHeaders(copy.headers),
    ...inspectText(copy.text),
    ...inspectHtml(copy.html, { policyRemoteImages }),
  ];
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const finding of findings) seen.set(`${finding.kind}\u0000${finding.place}\u0000${finding.detail}`, finding);
  return [...seen.values()];
}

function allow(findings: Finding[], allowKinds: ReadonlySet<FindingKind>): Finding[] {
  return findings.map((finding) => {
    if (POLICY_ALLOWED_KINDS.has(finding.kind)) return { ...finding, allowedBy: 'policy' };
    if (allowKinds.has(finding.kind)) return { ...finding, allowedBy: 'editor' };
    return finding;
  });
}

/** One line about an audit: passed, or what blocks the send and how to allow it. */
export function summarizeAudit(result: AuditResult): string {
  const counts = new Map<FindingKind, number>();
  for (const finding of result.findings) {
    if (finding.allowedBy === undefined) counts.set(finding.kind, (counts.get(finding.kind) ?? 0) + 1);
  }
  const byPolicy = result.findings.filter((finding) => finding.allowedBy === 'policy').length;
  const byEditor = result.findings.filter((finding) => finding.allowedBy === 'editor').length;
  const allowed = [
    ...(byPolicy > 0 ? [`${byPolicy} allowed by the image policy`] : []),
    ...(byEditor > 0 ? [`${byEditor} allowed by the editor`] : []),
  ];
  const allowedNote = allowed.length > 0 ? ` (${allowed.join(', ')})` : '';
  if (result.isPassed) return `the privacy audit of digest ${result.digestId} passed${allowedNote}`;
  const kinds = [...counts.entries()].map(([kind, count]) => `${kind} ×${count}`).join(', ');
  const allowable = [...counts.keys()].filter((kind) => !NEVER_ALLOWED_KINDS.has(kind));
  const hint =
    allowable.length > 0 ? `; to send anyway: ${allowable.map((kind) => `--allow-finding ${kind}`).join(' ')}` : '';
  return `the privacy audit of digest ${result.digestId} found ${result.blocking} blocking finding${result.blocking === 1 ? '' : 's'}: ${kinds}${allowedNote}; see \`letterpress audit ${result.digestId}\`${hint}`;
}

/**
 * The audit as the send use case's pre-send step (wired at the composition root): audits with the editor's
 * allowances and answers whether the send may go ahead, with the one-line summary as the reason.
 */
export function auditBeforeSend(deps: AuditDigestDeps) {
  return async (
    digest: Pick<Digest, 'id'>,
    options: { allowFindings: readonly string[] },
  ): Promise<{ isPassed: boolean; reason: string }> => {
    const result = await auditDigest(deps, { digestId: digest.id, allowKinds: options.allowFindings });
    return { isPassed: result.isPassed, reason: summarizeAudit(result) };
  };
}

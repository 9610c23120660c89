/** `letterpress audit <digest-id>`: the privacy audit of a digest, as the send runs it; exit 1 on a blocking finding. */
import type { Command } from 'commander';
import { ExitCode, defineAction, withApp, type CommandSink } from '../command-kit.js';
import { parseDigestId } from './digest.js';

/** Registers `audit`. */
export function registerAuditCommand(program: Command, sink: CommandSink): void {
  const audit = program
    .command('audit')
    .description('render a digest for two readers and report anything that could track them (exit 1 on a finding)')
    .argument('<digest-id>')
    .addHelpText('after', '\nFinding kinds are listed in README.md, "Privacy".');
  defineAction(audit, sink, async (args) => {
    const digestId = parseDigestId(args);
    return withApp(async (app) => {
      const { auditDigest, summarizeAudit } = await import('../../privacy/audit-digest.js');
      const result = await auditDigest(app, { digestId });
      const lines = [
        `${summarizeAudit(result)} (images: ${result.imagePolicy})`,
        ...result.findings.map(
          (finding) =>
            `  ${finding.allowedBy ? `allowed by ${finding.allowedBy}` : 'BLOCKS'}  ${finding.kind}  [${finding.place}] ${finding.detail}`,
        ),
      ];
      return { result, text: lines.join('\n'), exitCode: result.isPassed ? ExitCode.ok : ExitCode.failed };
    });
  });
}

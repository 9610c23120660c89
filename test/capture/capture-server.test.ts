/** The development capture server: every message lands as an .eml file, and nothing is ever overwritten. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { startCaptureServer } from '../../src/capture/capture-server.js';

async function sendTo(url: string, to: string, text: string): Promise<void> {
  const transport = nodemailer.createTransport(url);
  await transport.sendMail({ from: 'news@example.org', to, subject: 'hello', text });
  transport.close();
}

describe('capture server', () => {
  it('writes each message to its own file, also across a restart and a second server on the same folder', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'lp-capture-'));
    const first = await startCaptureServer({ directory });
    await sendTo(first.url, 'one@example.org', 'first');
    await first.close();

    const restarted = await startCaptureServer({ directory });
    const beside = await startCaptureServer({ directory });
    await sendTo(restarted.url, 'one@example.org', 'second');
    await sendTo(beside.url, 'one@example.org', 'third');
    await Promise.all([restarted.close(), beside.close()]);

    const files = readdirSync(directory).sort();
    expect(files).toHaveLength(3);
    const bodies = files.map((f) => readFileSync(join(directory, f), 'utf8'));
    for (const word of ['first', 'second', 'third']) expect(bodies.some((b) => b.includes(word))).toBe(true);
    expect(files.some((f) => f.endsWith('-one@example.org.eml'))).toBe(true);
  });
});

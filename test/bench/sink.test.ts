import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCountingSink, type CountingSink } from '../../bench/sink.js';

describe('the benchmark sink', () => {
  let sink: CountingSink;
  let control: string;
  beforeAll(async () => {
    sink = await startCountingSink();
    control = `http://127.0.0.1:${sink.controlPort}`;
  });
  afterAll(async () => {
    await sink.close();
  });

  it('counts each accepted message once, flags a reader who got the digest twice, and starts fresh per phase', async () => {
    const t0 = Date.now();
    await fetch(`${control}/phase?t0=${t0}`, { method: 'POST' });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: sink.smtpPort,
      secure: false,
      pool: true,
      maxConnections: 2,
    });
    try {
      const send = (to: string) =>
        transport.sendMail({ from: 'desk@bench.example', to, subject: 'Digest', text: 'x'.repeat(1000) });
      await Promise.all([
        send('reader1@bench.example'),
        send('reader2@bench.example'),
        send('reader900000@bench.example'),
      ]);
      await send('reader2@bench.example');

      const summary = (await (await fetch(`${control}/summary`)).json()) as Record<string, unknown>;
      expect(summary).toMatchObject({ accepted: 4, duplicates: 1, distinctRecipients: 3, t0 });
      expect(summary.averageMessageBytes as number).toBeGreaterThan(1000);
      const sample = await (await fetch(`${control}/sample`)).text();
      expect(sample).toContain('Subject: Digest');

      await fetch(`${control}/phase?t0=${Date.now()}`, { method: 'POST' });
      await send('reader2@bench.example');
      expect(await (await fetch(`${control}/count`)).json()).toEqual({ accepted: 1 });
      const fresh = (await (await fetch(`${control}/summary`)).json()) as Record<string, unknown>;
      expect(fresh).toMatchObject({ accepted: 1, duplicates: 0 });
    } finally {
      transport.close();
    }
  });
});

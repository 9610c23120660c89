/** What each SMTP reply means for a reader: delivered, later, gone for good, or refused for another reason. */
import { describe, expect, it } from 'vitest';
import { classifySmtpReply } from '../../src/smtp/classify-smtp-reply.js';

function smtpError(response: string, code = 'EENVELOPE'): Error {
  const responseCode = Number(response.slice(0, 3));
  return Object.assign(new Error(`Can't send mail - all recipients were rejected: ${response}`), {
    code,
    response,
    responseCode,
  });
}

/** A failure while the session was being set up, shaped as both mailers shape it. */
function sessionError(response: string, code: string, command: string): Error {
  return Object.assign(new Error(`${command} failed: ${response}`), {
    code,
    command,
    response,
    responseCode: Number(response.slice(0, 3)),
  });
}

function transportError(code: string, message = 'connection failed'): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifySmtpReply', () => {
  it('an accepted message is ok', () => {
    expect(
      classifySmtpReply({ accepted: ['a@example.org'], rejected: [], response: '250 2.0.0 Ok: queued' }),
    ).toMatchObject({
      kind: 'ok',
      code: 250,
    });
  });

  it.each([
    ['550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown', '5.1.1'],
    ['550 5.1.10 Recipient address rejected: null MX', '5.1.10'],
    ['550 5.2.1 The email account that you tried to reach is disabled', '5.2.1'],
    ['551 5.1.6 Recipient has moved', '5.1.6'],
  ])('a reply saying the mailbox is gone (%s) fails and suppresses the address', (response, enhancedCode) => {
    expect(classifySmtpReply(smtpError(response))).toMatchObject({
      kind: 'permanent-mailbox',
      enhancedCode,
      isRelayUnavailable: false,
    });
  });

  it('a 550 without an enhanced code is read by its text: "user unknown" is the mailbox, a block is not', () => {
    expect(classifySmtpReply(smtpError('550 No such user here')).kind).toBe('permanent-mailbox');
    expect(classifySmtpReply(smtpError('550 Mailbox unavailable: blocked by policy')).kind).toBe('permanent-other');
  });

  it.each([
    '554 5.7.1 Message rejected due to local policy',
    '550 5.7.26 Unauthenticated email is not accepted (DMARC)',
    '552 5.3.4 Message size exceeds fixed limit',
    '554 5.6.0 Content rejected',
    '553 5.1.8 Sender address rejected: domain not found',
    '554 Transaction failed',
  ])('other permanent refusals (%s) fail the reader without suppressing the address', (response) => {
    expect(classifySmtpReply(smtpError(response, 'EMESSAGE')).kind).toBe('permanent-other');
  });

  it('a 4xx reply is transient; 421 means the relay itself is unavailable', () => {
    expect(classifySmtpReply(smtpError('451 4.7.1 Greylisted, try again later'))).toMatchObject({
      kind: 'transient',
      isRelayUnavailable: false,
    });
    expect(classifySmtpReply(smtpError('452 4.2.2 Mailbox full'))).toMatchObject({ kind: 'transient', code: 452 });
    expect(classifySmtpReply(smtpError('421 4.3.2 Service shutting down', 'EPROTOCOL'))).toMatchObject({
      kind: 'transient',
      isRelayUnavailable: true,
    });
  });

  it('refused, dropped and timed-out connections are transient and mark the relay unavailable', () => {
    for (const code of ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNREFUSED', 'EDNS']) {
      expect(classifySmtpReply(transportError(code))).toMatchObject({ kind: 'transient', isRelayUnavailable: true });
    }
  });

  it('an unknown error is transient, so no reader is failed by a bug', () => {
    expect(classifySmtpReply(new Error('something odd'))).toMatchObject({
      kind: 'transient',
      isRelayUnavailable: false,
    });
    expect(classifySmtpReply('a string')).toMatchObject({ kind: 'transient' });
    expect(classifySmtpReply({ accepted: [], rejected: ['x@example.org'], response: '250 Ok' })).toMatchObject({
      kind: 'transient',
    });
  });

  it.each([
    ['554 5.7.1 No SMTP service here', 'EPROTOCOL', 'CONN'],
    ['501 5.5.2 Bad HELO hostname', 'EPROTOCOL', 'HELO'],
    ['535 5.7.8 Authentication credentials invalid', 'EAUTH', 'AUTH PLAIN'],
    ['504 5.5.4 Unrecognized authentication type', 'EAUTH', 'AUTH LOGIN'],
    ['554 5.5.1 TLS not available', 'ETLS', 'STARTTLS'],
    ['530 5.7.0 Must issue a STARTTLS command first', 'EENVELOPE', 'MAIL FROM'],
    ['553 5.1.8 Sender address rejected: domain not found', 'EENVELOPE', 'MAIL FROM'],
    ['554 5.7.1 <reader@example.org>: Relay access denied', 'EENVELOPE', 'RCPT TO'],
  ])('a refusal of the session itself (%s at %s) is the relay’s, never a reader’s', (response, code, command) => {
    const result = classifySmtpReply(sessionError(response, code, command));
    expect(result).toMatchObject({ kind: 'relay-refused', isRelayUnavailable: true });
    expect(result.message).toContain(response.slice(0, 3));
    expect(result.message).not.toContain('reader@');
  });

  it('a TLS certificate it cannot trust and a password it will not send in clear text are the relay’s refusals', () => {
    expect(classifySmtpReply(transportError('ETLS', 'self-signed certificate')).kind).toBe('relay-refused');
    // nodemailer's shape of the same: ESOCKET, the TLS code kept apart.
    const expired = Object.assign(transportError('ESOCKET', 'certificate has expired'), {
      originalCode: 'CERT_HAS_EXPIRED',
    });
    expect(classifySmtpReply(expired).kind).toBe('relay-refused');
    expect(classifySmtpReply(transportError('EAUTH', 'refusing to send the relay password in clear text')).kind).toBe(
      'relay-refused',
    );
  });

  it('a temporary refusal of the session (454 at AUTH, 451 at MAIL FROM) waits for the relay', () => {
    expect(
      classifySmtpReply(sessionError('454 4.7.0 Temporary authentication failure', 'EAUTH', 'AUTH PLAIN')),
    ).toMatchObject({ kind: 'transient', isRelayUnavailable: true });
    expect(classifySmtpReply(sessionError('451 4.7.1 Sending rate exceeded', 'EENVELOPE', 'MAIL FROM'))).toMatchObject({
      kind: 'transient',
      isRelayUnavailable: true,
    });
  });

  it('an error is never a delivery, even one carrying a 2xx reply out of step with its command', () => {
    const shifted = Object.assign(new Error('DATA refused: 250 INJECTED'), {
      code: 'EMESSAGE',
      responseCode: 250,
      response: '250 INJECTED',
    });
    expect(classifySmtpReply(shifted)).toMatchObject({ kind: 'transient', isRelayUnavailable: true });
  });

  it('never keeps an email address in the message it hands to logs and the ledger', () => {
    const result = classifySmtpReply(
      smtpError('550 5.1.1 <bob.smith@example.org>: user unknown; also carol@example.net'),
    );
    expect(result.message).not.toMatch(/@/);
    expect(result.message).toContain('[address]');
  });
});

/**
 * A relay that answers from a script, for the protocol paths no real SMTP server takes on purpose: replies out of
 * turn, a 421 while idle, a reply that never ends, a connection closed at RSET. It speaks plain TCP on loopback,
 * reads commands line by line (the message in DATA up to its final dot) and writes whatever the script returns.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';

/** What the script sees: one command line (or `.` for the end of a message) and the connection. */
export type SmtpScript = (line: string, socket: Socket) => string | undefined;

/** A running scripted relay. */
export interface ScriptedSmtp {
  url: string;
  /** Every command line received, in order, across connections (messages appear as `.`). */
  commands: string[];
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * The replies of an ordinary relay with PIPELINING, for scripts to fall back on: 250 to EHLO (with PIPELINING),
 * MAIL, RCPT, RSET and the final dot, 354 to DATA, 221 to QUIT.
 */
export function ordinaryReply(line: string): string {
  const verb = line.split(/[\s:]/)[0]?.toUpperCase();
  if (verb === 'EHLO') return '250-scripted.example\r\n250 PIPELINING\r\n';
  if (verb === 'DATA') return '354 go ahead\r\n';
  if (verb === 'QUIT') return '221 bye\r\n';
  if (verb === '.') return '250 2.0.0 queued\r\n';
  return '250 2.0.0 ok\r\n';
}

/** Starts a scripted relay; `script` returns the bytes to write for each line (undefined: write nothing). */
export async function startScriptedSmtp(script: SmtpScript): Promise<ScriptedSmtp> {
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('220 scripted.example ESMTP\r\n');
    let buffer = '';
    let isInData = false;
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (isInData) {
          // The final dot, or an empty message (the dot right after DATA).
          const end = buffer.startsWith('.\r\n') ? -2 : buffer.indexOf('\r\n.\r\n');
          if (end === -1) return;
          buffer = buffer.slice(end + 5);
          isInData = false;
          commands.push('.');
          const reply = script('.', socket);
          if (reply !== undefined && !socket.destroyed) socket.write(reply);
          continue;
        }
        const end = buffer.indexOf('\r\n');
        if (end === -1) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        commands.push(line);
        const reply = script(line, socket);
        if (reply !== undefined && !socket.destroyed) socket.write(reply);
        // The message follows a 354 (a relay that refused DATA reads commands on).
        if (line.toUpperCase() === 'DATA' && reply?.startsWith('354')) isInData = true;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    commands,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

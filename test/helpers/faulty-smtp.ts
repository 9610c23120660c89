/**
 * A fault-injecting SMTP relay (on smtp-server) for the reliability tests and the chaos runs.
 *
 * It answers a configurable share of transactions with temporary replies (421 closing the connection at MAIL FROM,
 * 451 after DATA), refuses a deterministic share of mailboxes permanently (550 5.1.1 at RCPT TO), drops the
 * connection in the middle of DATA, stalls its reply to DATA past the client's timeout, and can go down (refusing
 * connections) and come back on the same port. It records every message it accepted with its Message-ID and
 * envelope recipient.
 *
 * Run in-process with `startFaultySmtp()` for small tests, or in a process of its own with
 * `startFaultySmtpProcess()` (the chaos runs, so that killing workers never touches the relay). This file is also
 * that process's entry point: `node bin/run-ts.js test/helpers/faulty-smtp.ts` talks over the IPC channel.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { z } from 'zod';
import { repoRoot } from './cli.js';

/** What a stalled transaction does once its delay is over. */
export const StallOutcome = {
  /** The message is accepted (recorded) when DATA ends, and the 250 is sent only after the delay: RFC 1047's duplicate. */
  accept: 'accept',
  /** Nothing is recorded; after the delay the relay answers 451, which the client may never see. */
  reject: 'reject',
} as const;
export type StallOutcome = (typeof StallOutcome)[keyof typeof StallOutcome];

/** The faults a relay injects. Shares are probabilities per transaction (or per address, for permanent refusals). */
export const FaultPlanSchema = z.object({
  /** Share of transactions answered with a temporary failure: half 421 at MAIL FROM, half 451 after DATA. @defaultValue 0 */
  temporaryShare: z.number().min(0).max(1).default(0),
  /** Share of mailboxes refused with 550 5.1.1 at RCPT TO, decided by a hash of the address (stable across retries). @defaultValue 0 */
  permanentShare: z.number().min(0).max(1).default(0),
  /** Share of transactions whose connection is destroyed in the middle of DATA. @defaultValue 0 */
  dropShare: z.number().min(0).max(1).default(0),
  /** Share of transactions whose reply to DATA is delayed by `stallMs`. @defaultValue 0 */
  stallShare: z.number().min(0).max(1).default(0),
  /** Delay of a stalled reply; set it above the client's timeout. @defaultValue 2000 */
  stallMs: z.number().int().min(0).default(2_000),
  /** What a stalled transaction does after its delay. @defaultValue 'accept' */
  stallOutcome: z.enum(['accept', 'reject']).default('accept'),
  /** Delay of every reply to DATA that is not stalled (a slow but healthy relay). @defaultValue 0 */
  replyDelayMs: z.number().int().min(0).default(0),
  /**
   * Connections open at once; one more is refused at once with 421 (a relay of limited capacity). 0: no limit.
   * @defaultValue 0
   */
  maxConnections: z.number().int().min(0).default(0),
  /**
   * Transactions one connection may carry; the next MAIL FROM is answered 421 and the connection closed, as relays
   * that rotate connections do. 0: no limit. @defaultValue 0
   */
  messagesPerConnection: z.number().int().min(0).default(0),
  /** Seed of the random draws and of the permanent-refusal hash. @defaultValue 1 */
  seed: z.number().int().default(1),
});
export type FaultPlan = z.infer<typeof FaultPlanSchema>;
/** A fault plan as callers write it: every field optional. */
export type FaultPlanInput = z.input<typeof FaultPlanSchema>;

/** One message the relay accepted. */
export interface AcceptedMessage {
  /** The Message-ID header, angle brackets included, or '' when the message had none. */
  messageId: string;
  /** The envelope recipient (one per record; a message to two recipients gives two records). */
  recipient: string;
  /** Milliseconds since the epoch when the relay took responsibility for the message. */
  acceptedAt: number;
  /** True when the reply to this acceptance was stalled (the client may have given up and may send it again). */
  wasStalled: boolean;
  /**
   * True when the connection closed before the relay's 250 went out (the relay was cut, or the client gave up
   * waiting): the client cannot know the message was accepted and will send it again.
   */
  isReplyLost: boolean;
  /** The name the client gave in EHLO (each chaos worker gives its own, so the relay can tell them apart). */
  ehloName: string;
  /** The whole message, only when the relay was started with `keepRaw`. */
  raw?: Buffer;
}

/** Counters of what the relay did. */
export interface FaultySmtpStats {
  /** Transactions that reached MAIL FROM. */
  transactions: number;
  /** Records of accepted messages (one per recipient). */
  accepted: number;
  /** 421 at MAIL FROM. */
  temporaryAtMailFrom: number;
  /** 451 after DATA. */
  temporaryAfterData: number;
  /** 550 at RCPT TO. */
  permanent: number;
  /** Connections destroyed in the middle of DATA. */
  dropped: number;
  /** Stalled replies whose message was accepted. */
  stalledAccepted: number;
  /** Stalled replies that ended in a 451 with nothing accepted. */
  stalledRejected: number;
  /** Connections refused or cut while the relay was down. */
  cutWhileDown: number;
  /** Accepted messages whose 250 never reached the client (see `AcceptedMessage.isReplyLost`). */
  repliesLost: number;
  /** Connections refused with 421 because `maxConnections` were open. */
  refusedOverCapacity: number;
  /** Connections closed with 421 at MAIL FROM after `messagesPerConnection` transactions. */
  closedAfterLimit: number;
  /** Most connections open at once. */
  peakConnections: number;
}

/** What `snapshot()` returns: the accepted messages (without raw bodies) and the counters. */
export interface FaultySmtpSnapshot {
  accepted: AcceptedMessage[];
  permanentlyRefused: string[];
  stats: FaultySmtpStats;
}

/** Options of a fault-injecting relay. */
export interface FaultySmtpOptions {
  /** Port to listen on; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Faults to inject from the start. @defaultValue no faults */
  plan?: FaultPlanInput;
  /** Keep each accepted message's bytes (small tests only: a chaos run would hold gigabytes). @defaultValue false */
  keepRaw?: boolean;
}

/** A running fault-injecting relay in this process. */
export interface FaultySmtp {
  port: number;
  url: string;
  /** Every accepted message, in order of acceptance (live array). */
  accepted: AcceptedMessage[];
  /** Lower-cased addresses refused with 550 at least once. */
  permanentlyRefused: Set<string>;
  stats: FaultySmtpStats;
  /** Replaces the fault plan; transactions already past MAIL FROM keep theirs. */
  configure(plan: FaultPlanInput): void;
  /** Takes the relay down (stop listening, cut every connection) or brings it back on the same port. */
  setDown(isDown: boolean): Promise<void>;
  /** A copy of the records, without raw bodies. */
  snapshot(): FaultySmtpSnapshot;
  /**
   * Closes or opens the gate at RCPT TO: while closed, every RCPT TO waits for its reply, so the transactions that
   * reached the relay are held in flight until the gate opens. Opening returns the recipients it released.
   */
  setHolding(isHolding: boolean): string[];
  /** Lower-cased recipients whose RCPT TO waits at the closed gate. */
  held(): string[];
  /**
   * Holds (or lets go) each message the relay has received in full, before it takes responsibility for it: as
   * smtp-server does when a message's last bytes are still being parsed while the connection is cut.
   */
  holdMessages(isHolding: boolean): void;
  /** Messages received in full (final dot read) and held, not yet accepted. */
  heldMessages(): number;
  close(): Promise<void>;
}

/** The fault drawn for one transaction at MAIL FROM. */
type TransactionFault = 'none' | 'temporaryAfterData' | 'drop' | 'stall';

/** smtp-server keeps its connections in a Set it does not type; this is the little of it we touch. */
interface ConnectionHandle {
  id: string;
  _socket: Socket;
}

/** A small, fast, seedable PRNG (mulberry32), so a run's draws can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a of a string, mixed with a seed, as a number in [0, 1). */
function hashToUnit(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  return (hash >>> 0) / 4_294_967_296;
}

/** True when a relay with this share and seed refuses the address permanently (the same answer on every attempt). */
export function isPermanentlyRefused(address: string, permanentShare: number, seed = 1): boolean {
  return permanentShare > 0 && hashToUnit(address.toLowerCase(), seed) < permanentShare;
}

/** Reads the Message-ID header from a message's header section (unfolding continuation lines). */
export function readMessageId(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 64 * 1024) : end).toString('latin1');
  const match = /^message-id:[ \t]*((?:.*)(?:\r\n[ \t].*)*)/im.exec(head);
  return match?.[1] ? match[1].replace(/\r\n[ \t]+/g, ' ').trim() : '';
}

function smtpError(code: number, text: string): Error {
  const error = new Error(text) as Error & { responseCode: number };
  error.responseCode = code;
  return error;
}

function emptyStats(): FaultySmtpStats {
  return {
    transactions: 0,
    accepted: 0,
    temporaryAtMailFrom: 0,
    temporaryAfterData: 0,
    permanent: 0,
    dropped: 0,
    stalledAccepted: 0,
    stalledRejected: 0,
    cutWhileDown: 0,
    repliesLost: 0,
    refusedOverCapacity: 0,
    closedAfterLimit: 0,
    peakConnections: 0,
  };
}

/** Starts a fault-injecting relay on the loopback interface, in this process. */
export async function startFaultySmtp(options: FaultySmtpOptions = {}): Promise<FaultySmtp> {
  let plan = FaultPlanSchema.parse(options.plan ?? {});
  let random = seededRandom(plan.seed);
  let isDown = false;
  let isHolding = false;
  const waiting = new Set<{ recipient: string; release: () => void }>();
  let isHoldingMessages = false;
  const heldStreams = new Set<NodeJS.ReadableStream & { writableEnded?: boolean }>();
  const accepted: AcceptedMessage[] = [];
  const permanentlyRefused = new Set<string>();
  const stats = emptyStats();
  const faults = new WeakMap<SMTPServerSession, TransactionFault>();
  /** Transactions begun on each connection, by session id. */
  const transactionsBySession = new Map<string, number>();
  /** Accepted messages whose reply is still to be written, by session id. */
  const awaitingReply = new Map<string, AcceptedMessage[]>();
  const markRepliesLost = (sessionId: string) => {
    for (const record of awaitingReply.get(sessionId) ?? []) {
      record.isReplyLost = true;
      stats.repliesLost++;
    }
    awaitingReply.delete(sessionId);
  };
  const timers = new Set<NodeJS.Timeout>();

  const connectionsOf = (): ConnectionHandle[] => [
    ...(server as unknown as { connections: Set<ConnectionHandle> }).connections,
  ];
  const socketOf = (session: SMTPServerSession): Socket | undefined =>
    connectionsOf().find((connection) => connection.id === session.id)?._socket;
  const decideRecipient = (address: string, callback: (error?: Error | null) => void) => {
    if (isPermanentlyRefused(address, plan.permanentShare, plan.seed)) {
      stats.permanent++;
      permanentlyRefused.add(address.toLowerCase());
      callback(smtpError(550, `5.1.1 <${address}>: Recipient address rejected: User unknown`));
      return;
    }
    callback();
  };
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    // The client decides how long it waits; the relay must not hang up on a slow but live client first.
    socketTimeout: 120_000,
    onClose(session) {
      markRepliesLost(session.id);
      transactionsBySession.delete(session.id);
    },
    onConnect(_session, callback) {
      if (isDown) {
        stats.cutWhileDown++;
        callback(smtpError(421, '4.3.2 Service not available, closing transmission channel'));
        return;
      }
      // smtp-server counts this connection among its own before asking.
      const open = connectionsOf().length;
      if (plan.maxConnections > 0 && open > plan.maxConnections) {
        stats.refusedOverCapacity++;
        callback(smtpError(421, '4.7.0 Too many connections, try again later'));
        return;
      }
      stats.peakConnections = Math.max(stats.peakConnections, open);
      callback();
    },
    onMailFrom(_address, session, callback) {
      const begun = (transactionsBySession.get(session.id) ?? 0) + 1;
      transactionsBySession.set(session.id, begun);
      if (plan.messagesPerConnection > 0 && begun > plan.messagesPerConnection) {
        stats.closedAfterLimit++;
        callback(smtpError(421, '4.7.0 Too many messages on this connection, closing transmission channel'));
        return;
      }
      stats.transactions++;
      const draw = random();
      let fault: TransactionFault = 'none';
      let edge = plan.temporaryShare / 2;
      if (draw < edge) {
        stats.temporaryAtMailFrom++;
        callback(smtpError(421, '4.7.0 Too many connections, try again later'));
        return;
      }
      if (draw < (edge += plan.temporaryShare / 2)) fault = 'temporaryAfterData';
      else if (draw < (edge += plan.dropShare)) fault = 'drop';
      else if (draw < (edge += plan.stallShare)) fault = 'stall';
      faults.set(session, fault);
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (isHolding) {
        const recipient = address.address.toLowerCase();
        const waiter = { recipient, release: () => decideRecipient(address.address, callback) };
        waiting.add(waiter);
        return;
      }
      decideRecipient(address.address, callback);
    },
    onData(stream, session, callback) {
      const fault = faults.get(session) ?? 'none';
      const chunks: Buffer[] = [];
      let isCut = false;
      stream.on('error', () => {});
      stream.on('data', (chunk: Buffer) => {
        if (fault !== 'drop') {
          chunks.push(chunk);
          return;
        }
        // Cut the connection once the first bytes of the message are in: the client sees the socket close mid-DATA.
        if (!isCut) {
          isCut = true;
          stats.dropped++;
          socketOf(session)?.destroy();
        }
      });
      if (isHoldingMessages) {
        stream.pause();
        heldStreams.add(stream);
      }
      stream.on('end', () => {
        if (fault === 'drop') return;
        if (fault === 'temporaryAfterData') {
          stats.temporaryAfterData++;
          callback(smtpError(451, '4.3.0 Temporary local problem, try again later'));
          return;
        }
        const raw = Buffer.concat(chunks);
        const accept = (wasStalled: boolean) => {
          const messageId = readMessageId(raw);
          const acceptedAt = Date.now();
          // smtp-server lets a handler finish a message it received in full even after the connection closed (the
          // relay went down, or the client gave up): the relay then has the message, but its 250 has nowhere to go.
          const socket = socketOf(session);
          const isReplyLost = !socket || socket.destroyed || !socket.writable;
          const records = session.envelope.rcptTo.map((recipient) => ({
            messageId,
            recipient: recipient.address.toLowerCase(),
            acceptedAt,
            wasStalled,
            isReplyLost,
            ehloName: session.hostNameAppearsAs ?? '',
            ...(options.keepRaw ? { raw } : {}),
          }));
          accepted.push(...records);
          stats.accepted += records.length;
          if (isReplyLost) stats.repliesLost += records.length;
          return records;
        };
        /** Sends the 250 after `delayMs`; if the connection closes first, the acceptance's reply is lost. */
        const replyLater = (records: AcceptedMessage[], delayMs: number) => {
          if (!records.some((record) => record.isReplyLost)) awaitingReply.set(session.id, records);
          later(delayMs, () => {
            const socket = socketOf(session);
            if (!socket || socket.destroyed || !socket.writable) markRepliesLost(session.id);
            else if (awaitingReply.get(session.id) === records) awaitingReply.delete(session.id);
            callback();
          });
        };
        if (fault === 'stall') {
          if (plan.stallOutcome === 'accept') {
            // The relay has the message and will deliver it; only its 250 is late. This is the duplicate that
            // SMTP cannot rule out (RFC 1047): a client that gave up will send the message again.
            stats.stalledAccepted++;
            replyLater(accept(true), plan.stallMs);
          } else {
            stats.stalledRejected++;
            later(plan.stallMs, () => callback(smtpError(451, '4.4.1 Timed out while queueing, try again later')));
          }
          return;
        }
        const records = accept(false);
        if (plan.replyDelayMs > 0) replyLater(records, plan.replyDelayMs);
        else callback();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  const relay: FaultySmtp = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    accepted,
    permanentlyRefused,
    stats,
    configure(next) {
      plan = FaultPlanSchema.parse(next);
      random = seededRandom(plan.seed);
    },
    async setDown(nextIsDown) {
      if (nextIsDown === isDown) return;
      isDown = nextIsDown;
      if (isDown) {
        await new Promise<void>((resolve) => {
          server.server.close(() => resolve());
          for (const connection of connectionsOf()) {
            stats.cutWhileDown++;
            markRepliesLost(connection.id);
            connection._socket.destroy();
          }
        });
      } else {
        await new Promise<void>((resolve, reject) => {
          server.server.once('error', reject);
          server.server.listen(port, '127.0.0.1', () => {
            server.server.off('error', reject);
            resolve();
          });
        });
      }
    },
    setHolding(nextIsHolding) {
      isHolding = nextIsHolding;
      if (isHolding) return [];
      const released = [...waiting];
      waiting.clear();
      for (const waiter of released) waiter.release();
      return released.map((waiter) => waiter.recipient);
    },
    held() {
      return [...waiting].map((waiter) => waiter.recipient);
    },
    holdMessages(nextIsHolding) {
      isHoldingMessages = nextIsHolding;
      if (isHoldingMessages) return;
      for (const stream of heldStreams) stream.resume();
      heldStreams.clear();
    },
    heldMessages() {
      return [...heldStreams].filter((stream) => stream.writableEnded === true).length;
    },
    snapshot() {
      return {
        accepted: accepted.map(({ raw: _raw, ...record }) => record),
        permanentlyRefused: [...permanentlyRefused],
        stats: { ...stats },
      };
    },
    async close() {
      waiting.clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const connection of connectionsOf()) connection._socket.destroy();
      if (server.server.listening) await new Promise<void>((resolve) => server.server.close(() => resolve()));
    },
  };
  return relay;
}

/** Messages between the test process and a relay process. */
const RelayRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('configure'), id: z.number(), plan: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal('setDown'), id: z.number(), isDown: z.boolean() }),
  z.object({ type: z.literal('snapshot'), id: z.number() }),
  z.object({ type: z.literal('setHolding'), id: z.number(), isHolding: z.boolean() }),
  z.object({ type: z.literal('held'), id: z.number() }),
  z.object({ type: z.literal('stats'), id: z.number() }),
  z.object({ type: z.literal('close'), id: z.number() }),
]);
type RelayRequest = z.infer<typeof RelayRequestSchema>;
type RelayRequestBody = RelayRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** What a scenario needs from a relay, wherever it runs (in this process or its own). */
export interface RelayControl {
  port: number;
  url: string;
  configure(plan: FaultPlanInput): Promise<void>;
  setDown(isDown: boolean): Promise<void>;
  snapshot(): Promise<FaultySmtpSnapshot>;
  /** Only the counters (cheap to poll, unlike a snapshot of a large run). */
  stats(): Promise<FaultySmtpStats>;
  /** Closes or opens the gate; opening returns the recipients it released (held until then). */
  setHolding(isHolding: boolean): Promise<string[]>;
  held(): Promise<string[]>;
  /** Closes the relay (and waits for its process to exit, if it has one). */
  close(): Promise<void>;
}

/** A relay running in a process of its own; every method is a round trip over IPC. */
export interface FaultySmtpProcess extends RelayControl {
  pid: number;
}

/** The same controls over a relay in this process. */
export function controlLocalRelay(relay: FaultySmtp): RelayControl {
  return {
    port: relay.port,
    url: relay.url,
    configure: async (plan) => relay.configure(plan),
    setDown: (isDown) => relay.setDown(isDown),
    snapshot: async () => relay.snapshot(),
    stats: async () => ({ ...relay.stats }),
    setHolding: async (isHolding) => relay.setHolding(isHolding),
    held: async () => relay.held(),
    close: () => relay.close(),
  };
}

/** Starts a relay in its own Node process (so killing workers never touches it) and waits until it listens. */
export async function startFaultySmtpProcess(
  options: Omit<FaultySmtpOptions, 'keepRaw'> = {},
): Promise<FaultySmtpProcess> {
  const child: ChildProcess = fork(path.join(repoRoot, 'bin/run-ts.js'), [fileURLToPath(import.meta.url)], {
    cwd: repoRoot,
    env: { ...process.env, FAULTY_SMTP_OPTIONS: JSON.stringify({ port: options.port ?? 0, plan: options.plan ?? {} }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let exitError: Error | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    exitError = new Error(`relay process exited (code ${code}, signal ${signal})`);
    for (const { reject } of pending.values()) reject(exitError);
    pending.clear();
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', () => reject(exitError));
    child.once('message', (message) => {
      const ready = z.object({ type: z.literal('ready'), port: z.number() }).safeParse(message);
      if (ready.success) resolve(ready.data.port);
      else reject(new Error(`relay process sent an unexpected first message: ${JSON.stringify(message)}`));
    });
  });
  child.on('message', (message) => {
    const reply = z
      .object({ id: z.number(), result: z.unknown().optional(), error: z.string().optional() })
      .safeParse(message);
    if (!reply.success) return;
    const waiter = pending.get(reply.data.id);
    pending.delete(reply.data.id);
    if (reply.data.error !== undefined) waiter?.reject(new Error(reply.data.error));
    else waiter?.resolve(reply.data.result);
  });
  const request = (body: RelayRequestBody): Promise<unknown> => {
    if (exitError) return Promise.reject(exitError);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ ...body, id });
    });
  };
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    configure: async (plan) => {
      await request({ type: 'configure', plan: FaultPlanSchema.parse(plan) });
    },
    setDown: async (isDown) => {
      await request({ type: 'setDown', isDown });
    },
    snapshot: async () => (await request({ type: 'snapshot' })) as FaultySmtpSnapshot,
    setHolding: async (isHolding) => z.array(z.string()).parse(await request({ type: 'setHolding', isHolding })),
    held: async () => z.array(z.string()).parse(await request({ type: 'held' })),
    stats: async () => (await request({ type: 'stats' })) as FaultySmtpStats,
    close: async () => {
      if (!exitError) await request({ type: 'close' }).catch(() => undefined);
      if (!exitError) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The relay process: starts a relay from FAULTY_SMTP_OPTIONS and answers requests over IPC. */
async function serveOverIpc(): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error('the relay process must be started with an IPC channel (startFaultySmtpProcess)');
  const options = z
    .object({ port: z.number().int().min(0), plan: z.record(z.string(), z.unknown()) })
    .parse(JSON.parse(process.env.FAULTY_SMTP_OPTIONS ?? '{"port":0,"plan":{}}'));
  const relay = await startFaultySmtp({ port: options.port, plan: options.plan });
  process.on('message', (message) => {
    const parsed = RelayRequestSchema.safeParse(message);
    if (!parsed.success) return;
    const request = parsed.data;
    const answer = (result?: unknown) => send({ id: request.id, result });
    const fail = (error: unknown) => send({ id: request.id, error: String(error) });
    switch (request.type) {
      case 'configure':
        try {
          relay.configure(request.plan);
          answer();
        } catch (error) {
          fail(error);
        }
        break;
      case 'setDown':
        relay.setDown(request.isDown).then(() => answer(), fail);
        break;
      case 'setHolding':
        answer(relay.setHolding(request.isHolding));
        break;
      case 'held':
        answer(relay.held());
        break;
      case 'stats':
        answer({ ...relay.stats });
        break;
      case 'snapshot':
        answer(relay.snapshot());
        break;
      case 'close':
        relay.close().then(
          () => {
            answer();
            process.disconnect?.();
          },
          (error: unknown) => fail(error),
        );
        break;
    }
  });
  process.on('disconnect', () => {
    void relay.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', port: relay.port });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serveOverIpc().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

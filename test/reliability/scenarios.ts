/**
 * The reliability scenarios of the send path. Each one builds a rig, sends one digest through real worker processes
 * while something goes wrong, and returns a row of the chaos table plus every breach of "once, and nobody missed".
 * `npm test` runs them small (test/reliability/*.test.ts); `npm run chaos` runs them full size.
 */
import { randomInt } from 'node:crypto';
import type { FaultPlanInput } from '../helpers/faulty-smtp.js';
import { runLetterpress } from '../helpers/cli.js';
import type { LetterpressProcess } from '../helpers/processes.js';
import { sleep } from '../helpers/wait-until.js';
import type { DeliveryAudit } from './audit-delivery.js';
import { openSendRig, type RigOptions, type SendRig } from './send-rig.js';

/** How big a scenario runs and how its processes are tuned. */
export interface ScenarioScale {
  recipients: number;
  batchSize: number;
  /** Worker processes running at once. */
  workers: number;
  /** DELIVERY_CONCURRENCY per worker process. */
  concurrency: number;
  /** SMTP_POOL_SIZE per worker process. */
  poolSize: number;
  /** SMTP_TIMEOUT_MS, the command timeout (a stall lasts 1.5 times this). */
  smtpTimeoutMs: number;
  /**
   * SMTP_FINAL_DOT_TIMEOUT_MS. Shorter than a stall, a stalled 250 is given up on and the message sent again (the
   * lost-250 duplicate); longer, the stall is waited out.
   */
  finalDotTimeoutMs: number;
  /** Delay of every healthy reply to DATA, so that faults land in the middle of a send. */
  replyDelayMs: number;
  /** Scenario 1: SIGKILLs. */
  kills: number;
  /** Scenario 1: random pause before each kill, in milliseconds. */
  killGapMs: [number, number];
  /** Scenario 4: how long the relay is down. */
  relayDownMs: number;
  /** Scenario 2b: how long Redis stays down mid-delivery (longer than BullMQ's 30 s job lock). */
  redisDownMs: number;
  /**
   * Scenario 8: the relay's capacity, which three worker processes share: connections it takes at once (more are
   * refused with 421), transactions per connection (then 421 and a new connection), and how long it takes to answer
   * each message.
   */
  relayCapacity: { maxConnections: number; messagesPerConnection: number; replyDelayMs: number };
  /** Give up waiting for `sent` after this long. */
  settleTimeoutMs: number;
  relayInOwnProcess: boolean;
  echoWorkerLogs?: boolean;
  /** Scenario 9: how many times the deliver queue is drained and resumed mid-send. */
  drains: number;
  /** Scenario 9: SEND_RATE_PER_SECOND of its workers, so the send lasts long enough to be drained several times. */
  drainSendRate: number;
  /** Scenario 9: DELIVERY_BATCH_SIZE (a drain waits for the running batches, so smaller ones drain sooner). */
  drainBatchSize: number;
  /** Scenario 9: how long the drained queue is watched for a message that should not go out. */
  drainHoldMs: number;
  /**
   * Seed of the hostile relay's draws. The small size takes one whose stalls come early in the draw sequence: a stall
   * drawn late could fall past the last transaction of a 240-reader send, and a scenario that claims stalls must have
   * some. @defaultValue 20261127
   */
  faultSeed?: number;
}

/** The `npm test` size: a few hundred readers, short timeouts, every fault still happening at least once. */
export const smallScale: ScenarioScale = {
  recipients: 240,
  batchSize: 40,
  workers: 2,
  concurrency: 2,
  poolSize: 3,
  smtpTimeoutMs: 4_000,
  // As short as the command timeout, so the small hostile relay still shows the lost-250 path.
  finalDotTimeoutMs: 4_000,
  replyDelayMs: 40,
  kills: 2,
  killGapMs: [300, 900],
  relayDownMs: 4_000,
  redisDownMs: 40_000,
  // Three workers want up to 9 connections (3 each); the relay takes 6.
  relayCapacity: { maxConnections: 6, messagesPerConnection: 15, replyDelayMs: 40 },
  settleTimeoutMs: 150_000,
  drains: 2,
  drainSendRate: 15,
  drainBatchSize: 10,
  drainHoldMs: 1_500,
  relayInOwnProcess: false,
  // Stalls at draws 19, 22, 39, 86, 112 and 136 (the default seed's first is at draw 205).
  faultSeed: 148,
};

/** The `npm run chaos` size: the issue's numbers (20,000 readers, 20 kills, a 5-minute relay outage). */
export const fullScale: ScenarioScale = {
  recipients: 20_000,
  batchSize: 500,
  workers: 2,
  concurrency: 4,
  poolSize: 10,
  smtpTimeoutMs: 5_000,
  // The production default (RFC 5321 §4.5.3.2); `npm run chaos -- --final-dot-timeout-ms 5000` measures a short one.
  finalDotTimeoutMs: 600_000,
  replyDelayMs: 0,
  kills: 20,
  killGapMs: [500, 4_000],
  relayDownMs: 5 * 60_000,
  redisDownMs: 45_000,
  // Three workers want up to 30 connections (10 each); the relay takes 24, each answering in 20 ms at best.
  relayCapacity: { maxConnections: 24, messagesPerConnection: 100, replyDelayMs: 20 },
  settleTimeoutMs: 20 * 60_000,
  drains: 4,
  drainSendRate: 400,
  drainBatchSize: 200,
  drainHoldMs: 3_000,
  relayInOwnProcess: true,
};

/** One row of the chaos table, with the evidence behind it. */
export interface ScenarioResult {
  scenario: string;
  recipients: number;
  /** Deliverable recipients the relay accepted exactly once. */
  delivered: number;
  /** Deliverable recipients the relay accepted at least once. */
  reached: number;
  duplicates: number;
  lost: number;
  /** Permanently refused, recorded as failed and suppressed. */
  failed: number;
  seconds: number;
  /** Duplicates after an acceptance whose 250 never reached the client (SMTP cannot rule these out). */
  duplicatesAfterLostReply: number;
  /** Duplicates whose first copy was accepted within a second before a worker was SIGKILLed (sent, not yet recorded). */
  duplicatesAtKill: number;
  skipped: number;
  /** Breaches of the invariants; empty when the scenario passed. */
  problems: string[];
  /** What happened during the run (kills, restarts, relay statistics), in words. */
  notes: string[];
  /** The same as numbers, for the tests to check that the faults really happened. */
  facts: Record<string, number>;
}

/** A scenario: a name for the table, and how to run it at a given scale. */
export interface Scenario {
  /** Its number in the issue (3a and 3b are the two stall variants of 3). */
  number: string;
  id: string;
  title: string;
  run(scale: ScenarioScale): Promise<ScenarioResult>;
}

function rigOptions(label: string, scale: ScenarioScale, plan: FaultPlanInput = {}): RigOptions {
  return {
    label,
    recipients: scale.recipients,
    batchSize: scale.batchSize,
    concurrency: scale.concurrency,
    poolSize: scale.poolSize,
    smtpTimeoutMs: scale.smtpTimeoutMs,
    finalDotTimeoutMs: scale.finalDotTimeoutMs,
    relayInOwnProcess: scale.relayInOwnProcess,
    echoWorkerLogs: scale.echoWorkerLogs,
    plan: { replyDelayMs: scale.replyDelayMs, ...plan },
  };
}

function toResult(
  title: string,
  audit: DeliveryAudit,
  seconds: number,
  notes: string[],
  extra: Partial<ScenarioResult> = {},
): ScenarioResult {
  return {
    scenario: title,
    recipients: audit.recipients,
    delivered: audit.delivered,
    reached: audit.reached,
    duplicates: audit.duplicates,
    lost: audit.lost,
    failed: audit.failed,
    seconds: Math.round(seconds * 10) / 10,
    duplicatesAfterLostReply: audit.duplicatesAfterLostReply,
    duplicatesAtKill: audit.duplicatesAtKill,
    skipped: audit.skipped,
    problems: audit.problems,
    notes,
    facts: {},
    ...extra,
  };
}

async function withRig<T>(options: RigOptions, run: (rig: SendRig) => Promise<T>): Promise<T> {
  const rig = await openSendRig(options);
  try {
    return await run(rig);
  } finally {
    await rig.close();
  }
}

function randomBetween([min, max]: [number, number]): number {
  return min + randomInt(Math.max(1, max - min + 1));
}

/** The tail of a worker's log, for a failure message. */
function logTail(worker: LetterpressProcess, chars = 1_500): string {
  return worker.stderr().slice(-chars).trim();
}

/** 1. Worker processes SIGKILLed at random instants and restarted. */
const killStorm: Scenario = {
  number: '1',
  id: 'kill-storm',
  title: 'workers SIGKILLed and restarted',
  run(scale) {
    return withRig(rigOptions('kill', scale), async (rig) => {
      const started = Date.now();
      await rig.startWorkers(scale.workers);
      await rig.send();
      const killedAt: number[] = [];
      const observation = await rig.waitForSent({
        timeoutMs: scale.settleTimeoutMs,
        during: async (signal) => {
          while (killedAt.length < scale.kills && !signal.aborted) {
            await sleep(randomBetween(scale.killGapMs));
            if (signal.aborted) return;
            const live = rig.workers.filter((worker) => worker.isRunning());
            const victim = live[randomInt(live.length)];
            if (!victim) continue;
            victim.kill('SIGKILL');
            killedAt.push(Date.now());
            await victim.exited;
            rig.startWorker();
          }
        },
      });
      const audit = await rig.audit({ atSent: observation.atSent, killedAt });
      const problems = [...audit.problems, ...notSent(scale, rig, observation)];
      const notes = [`${killedAt.length} SIGKILLs`];
      if (audit.killDistanceRangeMs) {
        const [before, after] = audit.killDistanceRangeMs;
        notes.push(
          `${audit.duplicatesAtKill} duplicate(s) whose first copy the relay accepted between ${-before} ms before ` +
            `and ${after} ms after a kill`,
        );
      }
      return toResult(this.title, audit, (Date.now() - started) / 1000, notes, {
        problems,
        facts: { kills: killedAt.length },
      });
    });
  },
};

/** Resolves once the relay has accepted at least `count` messages (or the signal aborts); throws after 10 minutes. */
async function untilAccepted(rig: SendRig, count: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  while (!signal?.aborted) {
    const { accepted } = await rig.relay.stats();
    if (accepted >= count) return;
    if (Date.now() > deadline) throw new Error(`the relay accepted only ${accepted} of the ${count} messages awaited`);
    await sleep(50);
  }
}

/** Resolves once no fan-out or delivery job is waiting, delayed or active. */
async function untilQueuesDrained(rig: SendRig, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const counts = await Promise.all(
      [rig.app.queues.queues.fanout, rig.app.queues.queues.deliver].map((queue) =>
        queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized'),
      ),
    );
    if (counts.every((c) => Object.values(c).every((n) => n === 0))) return true;
    await sleep(200);
  }
  return false;
}

function notSent(
  scale: ScenarioScale,
  rig: SendRig,
  observation: { isSent: boolean; digest?: { status: string } },
): string[] {
  if (observation.isSent) return [];
  const worker = rig.workers.at(-1);
  return [
    `the digest is "${observation.digest?.status ?? 'gone'}" after ${scale.settleTimeoutMs} ms` +
      (worker ? `; last worker log:\n${logTail(worker)}` : ''),
  ];
}

/**
 * 2. The private Redis (appendonly, everysec) is restarted while the fan-out job runs (SIGKILL, a crash) and again
 * in the middle of delivery (SIGTERM, a clean shutdown).
 */
const redisRestarts: Scenario = {
  number: '2',
  id: 'redis-restarts',
  title: 'Redis restarted during fan-out and delivery',
  run(scale) {
    return withRig({ ...rigOptions('redis', scale), usePrivateRedis: true }, async (rig) => {
      const started = Date.now();
      const redis = rig.privateRedis;
      if (!redis) throw new Error('scenario 2 needs a private Redis');
      const notes: string[] = [];
      // A raw connection of our own, polled tightly, to catch the fan-out job while it is active.
      const probe = rig.redis.duplicate({ enableAutoPipelining: false, retryStrategy: () => 50 });
      probe.on('error', () => {});
      const activeFanOut = `${rig.app.keys.bullPrefix}:fanout:active`;
      try {
        await rig.startWorkers(scale.workers);
        await rig.send();
        let caught: 'during' | 'after' | undefined;
        const deadline = Date.now() + 60_000;
        while (!caught && Date.now() < deadline) {
          const [active, fields] = await Promise.all([
            probe.llen(activeFanOut),
            probe.hmget(rig.app.keys.digest(rig.digest.id), 'fannedOutAt'),
          ]);
          if (fields[0]) caught = 'after';
          else if (active > 0) caught = 'during';
          else await sleep(2);
        }
        await redis.stop('kill');
        let restarts = 1;
        const fannedOutBeforeCrash = caught === 'after';
        notes.push(
          fannedOutBeforeCrash
            ? 'first restart (SIGKILL) came just after fan-out finished'
            : caught === 'during'
              ? 'first restart (SIGKILL) while the fan-out job was active'
              : 'first restart (SIGKILL): fan-out never seen',
        );
        await sleep(1_500);
        await redis.start();
        const observation = await rig.waitForSent({
          timeoutMs: scale.settleTimeoutMs,
          during: async (signal) => {
            await untilAccepted(rig, Math.ceil(rig.recipients.length * 0.4), signal);
            if (signal.aborted) return;
            await redis.stop('graceful');
            restarts++;
            await sleep(1_500);
            await redis.start();
            notes.push(`second restart (SIGTERM) after ${(await rig.relay.stats()).accepted} acceptances`);
          },
        });
        const crashed = rig.workers.filter((worker) => !worker.isRunning());
        const audit = await rig.audit({ atSent: observation.atSent });
        const problems = [...audit.problems, ...notSent(scale, rig, observation)];
        for (const worker of crashed) {
          const exit = await worker.exited;
          problems.push(
            `a worker exited on its own during the restarts (code ${exit.code}, signal ${exit.signal}); log:\n${logTail(worker)}`,
          );
        }
        return toResult(this.title, audit, (Date.now() - started) / 1000, notes, {
          problems,
          facts: { restarts, firstRestartDuringFanOut: caught === 'during' ? 1 : 0 },
        });
      } finally {
        probe.disconnect();
      }
    });
  },
};

/**
 * 2b. Redis down for longer than BullMQ's job lock (30 s) in the middle of delivery: when it comes back, the locks of
 * the batches in progress have expired, so the stalled-job check may hand a batch to a second run while the first
 * one still works on it.
 */
const redisLongOutage: Scenario = {
  number: '2b',
  id: 'redis-long-outage',
  title: 'Redis down longer than the job lock mid-delivery',
  run(scale) {
    return withRig({ ...rigOptions('redis-long', scale), usePrivateRedis: true }, async (rig) => {
      const started = Date.now();
      const redis = rig.privateRedis;
      if (!redis) throw new Error('scenario 2b needs a private Redis');
      const notes: string[] = [];
      await rig.startWorkers(scale.workers);
      await rig.send();
      const observation = await rig.waitForSent({
        timeoutMs: scale.settleTimeoutMs + scale.redisDownMs,
        during: async (signal) => {
          await untilAccepted(rig, Math.ceil(rig.recipients.length * 0.3), signal);
          if (signal.aborted) return;
          await redis.stop('graceful');
          const downAt = Date.now();
          const acceptedAtStop = (await rig.relay.stats()).accepted;
          await sleep(scale.redisDownMs);
          await redis.start();
          notes.push(
            `Redis down ${Math.round((Date.now() - downAt) / 1000)} s after ${acceptedAtStop} acceptances; ` +
              `${(await rig.relay.stats()).accepted - acceptedAtStop} accepted while it was down`,
          );
        },
      });
      const crashed = rig.workers.filter((worker) => !worker.isRunning());
      const audit = await rig.audit({ atSent: observation.atSent });
      const problems = [...audit.problems, ...notSent(scale, rig, observation)];
      for (const worker of crashed) {
        const exit = await worker.exited;
        problems.push(
          `a worker exited on its own (code ${exit.code}, signal ${exit.signal}); log:\n${logTail(worker)}`,
        );
      }
      return toResult(this.title, audit, (Date.now() - started) / 1000, notes, { problems });
    });
  },
};

/** 3. A hostile relay: 10% temporary refusals, 2% permanent, 2% dropped mid-DATA, 1% stalled past the timeout. */
function hostileRelay(stallOutcome: 'accept' | 'reject'): Scenario {
  return {
    number: stallOutcome === 'accept' ? '3a' : '3b',
    id: `hostile-relay-${stallOutcome}`,
    title: `hostile relay (stalls ${stallOutcome === 'accept' ? 'then accept' : 'then reject'})`,
    run(scale) {
      const plan: FaultPlanInput = {
        temporaryShare: 0.1,
        permanentShare: 0.02,
        dropShare: 0.02,
        stallShare: 0.01,
        stallMs: Math.round(scale.smtpTimeoutMs * 1.5),
        stallOutcome,
        seed: scale.faultSeed ?? 20_261_127,
      };
      return withRig(rigOptions(`hostile-${stallOutcome}`, scale, plan), async (rig) => {
        const started = Date.now();
        await rig.startWorkers(scale.workers);
        await rig.send();
        const observation = await rig.waitForSent({ timeoutMs: scale.settleTimeoutMs });
        const audit = await rig.audit({ atSent: observation.atSent });
        const stats = await rig.relay.stats();
        const notes = [
          `relay: ${stats.transactions} transactions, ${stats.temporaryAtMailFrom} × 421, ${stats.temporaryAfterData} × 451, ` +
            `${stats.permanent} × 550, ${stats.dropped} dropped mid-DATA, ${stats.stalledAccepted + stats.stalledRejected} stalled`,
        ];
        if (audit.duplicatesAfterLostReply > 0) {
          notes.push(
            `${audit.duplicatesAfterLostReply} duplicate(s) after a 250 that never reached the client: ` +
              'same Message-ID, receivers can collapse them',
          );
        }
        return toResult(this.title, audit, (Date.now() - started) / 1000, notes, {
          problems: [...audit.problems, ...notSent(scale, rig, observation)],
          facts: {
            temporary: stats.temporaryAtMailFrom + stats.temporaryAfterData,
            permanent: stats.permanent,
            dropped: stats.dropped,
            stalled: stats.stalledAccepted + stats.stalledRejected,
          },
        });
      });
    },
  };
}

/** 4. The relay is down (connections refused) for a while in the middle of the send. */
const relayOutage: Scenario = {
  number: '4',
  id: 'relay-outage',
  title: 'relay down mid-send',
  run(scale) {
    return withRig(rigOptions('outage', scale), async (rig) => {
      const started = Date.now();
      const notes: string[] = [];
      const problems: string[] = [];
      let downMs = 0;
      await rig.startWorkers(scale.workers);
      await rig.send();
      const observation = await rig.waitForSent({
        timeoutMs: scale.settleTimeoutMs + scale.relayDownMs,
        during: async (signal) => {
          await untilAccepted(rig, Math.ceil(rig.recipients.length * 0.3), signal);
          if (signal.aborted) return;
          await rig.relay.setDown(true);
          const downAt = Date.now();
          const acceptedAtDown = (await rig.relay.stats()).accepted;
          // While the relay is down the digest must wait: never `sent`, never failing anyone for it.
          while (Date.now() - downAt < scale.relayDownMs) {
            const digest = await rig.app.digests.get(rig.digest.id);
            if (digest?.status !== 'sending')
              problems.push(`the digest became "${digest?.status}" while the relay was down`);
            if ((digest?.counts.failed ?? 0) > 0) problems.push('recipients were failed while the relay was down');
            if (problems.length > 0) break;
            await sleep(Math.min(1_000, scale.relayDownMs / 5));
          }
          await rig.relay.setDown(false);
          downMs = Date.now() - downAt;
          notes.push(`relay down ${Math.round((Date.now() - downAt) / 1000)} s after ${acceptedAtDown} acceptances`);
          const upAt = Date.now();
          await untilAccepted(rig, acceptedAtDown + 1, signal);
          if (!signal.aborted)
            notes.push(`first acceptance ${Math.round((Date.now() - upAt) / 100) / 10} s after the relay came back`);
        },
      });
      const stats = await rig.relay.stats();
      notes.push(`${stats.cutWhileDown} connection(s) refused or cut while down`);
      const audit = await rig.audit({ atSent: observation.atSent });
      return toResult(this.title, audit, (Date.now() - started) / 1000, notes, {
        problems: [...problems, ...audit.problems, ...notSent(scale, rig, observation)],
        facts: { downMs },
      });
    });
  },
};

/** 5. `letterpress digest send` twice at once for the same digest, and once more after it finished. */
const doubleSend: Scenario = {
  number: '5',
  id: 'double-send',
  title: '`digest send` twice at once, then again',
  run(scale) {
    return withRig(rigOptions('double', scale), async (rig) => {
      const started = Date.now();
      const problems: string[] = [];
      await rig.startWorkers(scale.workers);
      const send = () => runLetterpress(['digest', 'send', rig.digest.id, '--json'], rig.workerEnv);
      const both = await Promise.all([send(), send()]);
      for (const result of both) {
        if (result.code !== 0)
          problems.push(`a concurrent \`digest send\` exited ${result.code}: ${result.stderr.trim()}`);
      }
      const observation = await rig.waitForSent({ timeoutMs: scale.settleTimeoutMs });
      const again = await send();
      if (again.code !== 0)
        problems.push(`\`digest send\` after the digest was sent exited ${again.code}: ${again.stderr.trim()}`);
      const statusAfter = (again.json as { status?: string } | undefined)?.status;
      if (statusAfter !== 'sent') problems.push(`\`digest send\` after the digest was sent answered "${statusAfter}"`);
      if (!(await untilQueuesDrained(rig, 30_000))) problems.push('jobs were still queued 30 s after the third send');
      const audit = await rig.audit({ atSent: observation.atSent });
      return toResult(this.title, audit, (Date.now() - started) / 1000, ['three `digest send` processes'], {
        problems: [...problems, ...audit.problems, ...notSent(scale, rig, observation)],
        facts: { sends: 3 },
      });
    });
  },
};

/**
 * 6. Subscribers removed while their batch waits in the queue or is in flight. The relay's gate holds every
 * transaction at RCPT TO while the removals are recorded, so "in flight" is exact: a reader whose RCPT was already
 * at the relay may get their one copy; everyone else removed must get nothing.
 */
const removalsInFlight: Scenario = {
  number: '6',
  id: 'removed-mid-send',
  title: 'subscribers removed mid-send',
  run(scale) {
    return withRig(rigOptions('removed', scale), async (rig) => {
      const started = Date.now();
      const removed = new Set<string>();
      const removedInFlight = new Set<string>();
      const notes: string[] = [];
      await rig.startWorkers(scale.workers);
      await rig.send();
      const observation = await rig.waitForSent({
        timeoutMs: scale.settleTimeoutMs,
        during: async (signal) => {
          await untilAccepted(rig, Math.ceil(rig.recipients.length * 0.25), signal);
          if (signal.aborted) return;
          await rig.relay.setHolding(true);
          // Wait until the lanes that were sending are parked at the gate.
          let held = await rig.relay.held();
          for (let i = 0; i < 100 && held.length === 0; i++) {
            await sleep(20);
            held = await rig.relay.held();
          }
          await sleep(200);
          const snapshot = await rig.relay.snapshot();
          const reached = new Set([...snapshot.accepted.map((r) => r.recipient), ...(await rig.relay.held())]);
          const candidates = rig.recipients.filter((r) => !reached.has(r.email.toLowerCase()));
          // Most of those not yet reached leave (so any message checked but not yet at the relay is among them); a
          // fifth stay and must still get their copy.
          const chosen = candidates.filter((_, index) => index % 5 !== 0);
          for (let start = 0; start < chosen.length; start += 200) {
            await Promise.all(chosen.slice(start, start + 200).map(({ id }) => rig.app.subscribers.unsubscribe(id)));
          }
          // Opening the gate reports who was held: their RCPT reached the relay before it opened, so they may have
          // been in flight before their removal was recorded. Either outcome is right for them.
          const heldAfter = new Set(await rig.relay.setHolding(false));
          for (const { email } of chosen) {
            const address = email.toLowerCase();
            (heldAfter.has(address) ? removedInFlight : removed).add(address);
          }
          notes.push(
            `${chosen.length} removed while ${heldAfter.size} transaction(s) were held in flight and ` +
              `${snapshot.stats.accepted} delivered; ${removedInFlight.size} of them were already at the relay`,
          );
        },
      });
      const audit = await rig.audit({ removed, removedInFlight, atSent: observation.atSent });
      return toResult(this.title, audit, (Date.now() - started) / 1000, notes, {
        problems: [...audit.problems, ...notSent(scale, rig, observation)],
        facts: { removed: removed.size, removedInFlight: removedInFlight.size },
      });
    });
  },
};

/** 7. SIGTERM to a worker in the middle of a batch; a fresh worker finishes the digest. */
const gracefulStop: Scenario = {
  number: '7',
  id: 'sigterm-mid-batch',
  title: 'SIGTERM mid-batch, then restart',
  run(scale) {
    return withRig(rigOptions('sigterm', scale), async (rig) => {
      const started = Date.now();
      const problems: string[] = [];
      const notes: string[] = [];
      await rig.startWorkers(1);
      const worker = rig.workers[0]!;
      await rig.send();
      await untilAccepted(rig, Math.ceil(rig.recipients.length * 0.3));
      const atSignal = (await rig.relay.stats()).accepted;
      const exit = await worker.stop('SIGTERM', 30_000);
      const atExit = (await rig.relay.stats()).accepted;
      const inFlightLimit = scale.concurrency * scale.poolSize;
      notes.push(
        `exit ${exit.code ?? exit.signal}${exit.forced ? ' (forced)' : ''}; ${atExit - atSignal} accepted after SIGTERM`,
      );
      if (exit.forced) problems.push('the worker did not stop within 30 s of SIGTERM');
      if (atExit - atSignal > inFlightLimit) {
        problems.push(`${atExit - atSignal} messages accepted after SIGTERM; at most ${inFlightLimit} were in flight`);
      }
      const digest = await rig.app.digests.get(rig.digest.id);
      if (digest?.status !== 'sending')
        problems.push(`after the stop the digest is "${digest?.status}", not "sending"`);
      if (
        (digest?.counts.delivered ?? 0) !== new Set((await rig.relay.snapshot()).accepted.map((r) => r.recipient)).size
      ) {
        problems.push('after the stop, the delivered count differs from what the relay accepted');
      }
      const failedJobs = await rig.app.queues.queues.deliver.getJobCounts('failed');
      if ((failedJobs.failed ?? 0) > 0)
        problems.push(`${failedJobs.failed} delivery job(s) failed because of the stop`);
      rig.startWorker();
      const observation = await rig.waitForSent({ timeoutMs: scale.settleTimeoutMs });
      const audit = await rig.audit({ atSent: observation.atSent });
      return toResult(this.title, audit, (Date.now() - started) / 1000, notes, {
        problems: [...problems, ...audit.problems, ...notSent(scale, rig, observation)],
        facts: { acceptedBeforeSigterm: atSignal, acceptedAfterSigterm: atExit - atSignal },
      });
    });
  },
};

/** The EHLO name worker process `index` (from 0) gives, so the relay's records say which worker sent what. */
export function scaleOutWorkerName(index: number): string {
  return `worker-${index + 1}.scale-out.letterpress.test`;
}

/**
 * 8. Scale-out: three worker processes (as on three hosts: same configuration, same Redis) share one digest against a
 * relay of limited capacity: it takes only so many connections at once (refusing more with 421), closes each after
 * so many messages (421 at MAIL FROM) and is slow to answer each message. Every reader once, and every worker does
 * a share of the work (each worker names itself in EHLO, so the relay's records say who sent what).
 */
const scaleOut: Scenario = {
  number: '8',
  id: 'scale-out',
  title: 'three workers share a relay of limited capacity',
  run(scale) {
    const workers = 3;
    const plan: FaultPlanInput = { ...scale.relayCapacity };
    return withRig(rigOptions('scale-out', scale, plan), async (rig) => {
      const started = Date.now();
      await rig.startWorkers(workers, (index) => ({
        SMTP_URL: `${rig.relay.url}?name=${scaleOutWorkerName(index)}`,
      }));
      await rig.send();
      const observation = await rig.waitForSent({ timeoutMs: scale.settleTimeoutMs });
      const audit = await rig.audit({ atSent: observation.atSent });
      const snapshot = await rig.relay.snapshot();
      const stats = snapshot.stats;
      const perWorker = Array.from({ length: workers }, (_, index) => {
        const name = scaleOutWorkerName(index);
        return snapshot.accepted.filter((record) => record.ehloName === name).length;
      });
      const total = snapshot.accepted.length;
      const share = (count: number) => (total > 0 ? Math.round((count / total) * 1000) / 10 : 0);
      const problems = [...audit.problems, ...notSent(scale, rig, observation)];
      const unnamed = total - perWorker.reduce((sum, count) => sum + count, 0);
      if (unnamed > 0) problems.push(`${unnamed} acceptance(s) came from no known worker`);
      perWorker.forEach((count, index) => {
        if (count === 0) problems.push(`worker ${index + 1} sent nothing: the work was not shared`);
      });
      if (stats.peakConnections > scale.relayCapacity.maxConnections) {
        problems.push(
          `the relay held ${stats.peakConnections} connections, over its ${scale.relayCapacity.maxConnections}`,
        );
      }
      const seconds = (Date.now() - started) / 1000;
      const notes = [
        `per worker: ${perWorker.map((count, index) => `worker ${index + 1} ${count} (${share(count)}%)`).join(', ')}`,
        `relay: at most ${stats.peakConnections} of ${scale.relayCapacity.maxConnections} connections open, ` +
          `${stats.refusedOverCapacity} connection(s) refused over capacity, ${stats.closedAfterLimit} closed after ` +
          `${scale.relayCapacity.messagesPerConnection} messages, ${scale.relayCapacity.replyDelayMs} ms per reply; ` +
          `${Math.round(total / Math.max(observation.seconds, 0.1))} messages/s while sending`,
      ];
      return toResult(this.title, audit, seconds, notes, {
        problems,
        facts: {
          ...Object.fromEntries(perWorker.map((count, index) => [`worker${index + 1}`, count])),
          peakConnections: stats.peakConnections,
          refusedOverCapacity: stats.refusedOverCapacity,
          closedAfterLimit: stats.closedAfterLimit,
        },
      });
    });
  },
};

/**
 * 9. The deliver queue drained several times mid-send (what `letterpress queue drain` does: pause, wait until the
 * running batches finish), the relay watched while it is drained, then resumed (`queue resume`). The scenario calls
 * the queue admin in its own process (a command's start would let the send run on for seconds first). The workers
 * also share a send rate, so the send lasts long enough to be caught each time.
 */
const drainAndResume: Scenario = {
  number: '9',
  id: 'drain-resume',
  title: 'deliver queue drained and resumed mid-send',
  run(scale) {
    const options = {
      ...rigOptions('drain', scale),
      batchSize: scale.drainBatchSize,
      extraEnv: { SEND_RATE_PER_SECOND: String(scale.drainSendRate) },
    };
    return withRig(options, async (rig) => {
      const started = Date.now();
      const problems: string[] = [];
      const notes: string[] = [];
      let drains = 0;
      let acceptedWhileDrained = 0;
      await rig.startWorkers(scale.workers);
      await rig.send();
      const observation = await rig.waitForSent({
        timeoutMs: scale.settleTimeoutMs,
        during: async (signal) => {
          for (let cycle = 1; cycle <= scale.drains && !signal.aborted; cycle++) {
            await untilAccepted(rig, Math.ceil((rig.recipients.length * cycle) / (scale.drains + 1)), signal);
            if (signal.aborted) return;
            const report = await rig.app.queues.admin.drain('deliver', { timeoutMs: 120_000 });
            if (!report.isDrained) {
              problems.push(`the drain gave up with ${report.active} delivery job(s) still running after 120 s`);
              return;
            }
            drains++;
            const atDrain = (await rig.relay.stats()).accepted;
            const active = await rig.app.queues.queues.deliver.getActiveCount();
            if (active > 0) problems.push(`${active} delivery job(s) still active after \`queue drain\` returned`);
            await sleep(scale.drainHoldMs);
            const afterHold = (await rig.relay.stats()).accepted;
            acceptedWhileDrained += afterHold - atDrain;
            // A drain that came as the last batches finished may see the digest sent; otherwise it waits, sending.
            const digest = await rig.app.digests.get(rig.digest.id);
            const isComplete = afterHold >= rig.recipients.length;
            if (digest?.status !== 'sending' && !(isComplete && digest?.status === 'sent'))
              problems.push(`the drained digest became "${digest?.status}" after ${afterHold} acceptances`);
            notes.push(
              `drain ${cycle}: ${(report.waitedMs / 1000).toFixed(1)} s for the running batches, then ${atDrain} ` +
                `acceptances, ${report.waiting} waiting and ${report.delayed} delayed job(s) kept; ` +
                `${afterHold - atDrain} accepted in the ${scale.drainHoldMs} ms after`,
            );
            await rig.app.queues.admin.resume('deliver');
          }
        },
      });
      if (acceptedWhileDrained > 0)
        problems.push(`${acceptedWhileDrained} message(s) accepted while the deliver queue was drained`);
      if (drains < scale.drains)
        problems.push(`only ${drains} of ${scale.drains} drains happened before the send ended`);
      const failedJobs = await rig.app.queues.queues.deliver.getJobCounts('failed');
      if ((failedJobs.failed ?? 0) > 0) problems.push(`${failedJobs.failed} delivery job(s) failed`);
      const audit = await rig.audit({ atSent: observation.atSent });
      return toResult(this.title, audit, (Date.now() - started) / 1000, notes, {
        problems: [...problems, ...audit.problems, ...notSent(scale, rig, observation)],
        facts: { drains, acceptedWhileDrained },
      });
    });
  },
};

/** Every scenario, in the order of the issue. */
export const scenarios: Scenario[] = [
  killStorm,
  redisRestarts,
  redisLongOutage,
  hostileRelay('accept'),
  hostileRelay('reject'),
  relayOutage,
  doubleSend,
  removalsInFlight,
  gracefulStop,
  scaleOut,
  drainAndResume,
];

/** The scenario with this id (throws for an unknown id, so a typo fails loudly). */
export function findScenario(id: string): Scenario {
  const found = scenarios.find((scenario) => scenario.id === id);
  if (!found) throw new Error(`no scenario "${id}" (known: ${scenarios.map((s) => s.id).join(', ')})`);
  return found;
}

/** Jobs left in the queues by an older version, whose payloads no longer match their schema. */
import { afterEach, describe, expect, it } from 'vitest';
import { openSendRig, type SendRig } from './send-rig.js';

let rig: SendRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('job payloads that do not match their schema', () => {
  it('each such job fails once with a reason naming the fields, and the worker goes on delivering the digest', async () => {
    rig = await openSendRig({
      label: 'payloads',
      recipients: 60,
      batchSize: 30,
      concurrency: 2,
      poolSize: 2,
      smtpTimeoutMs: 4_000,
    });
    const { deliver, fanout } = rig.app.queues.queues;
    const digestId = rig.digest.id;
    // Shapes an older version might have left: recipients by list, ids as strings, a renamed field, not an object.
    const legacy = [
      {
        queue: deliver,
        jobId: 'legacy-list',
        data: { digestId, subscriberIds: [1, 2, 3] },
        field: /fromId: .*toId: /s,
      },
      { queue: deliver, jobId: 'legacy-strings', data: { digestId, fromId: '1', toId: '30' }, field: /fromId: / },
      { queue: fanout, jobId: 'legacy-renamed', data: { digest: digestId }, field: /digestId: / },
      { queue: deliver, jobId: 'legacy-text', data: `deliver:${digestId}:1-30`, field: /\(root\): / },
    ];
    for (const job of legacy) await job.queue.add(job.queue.name, job.data, { jobId: job.jobId, attempts: 5 });

    await rig.startWorkers(1);
    await rig.send();
    const observation = await rig.waitForSent({ timeoutMs: 90_000 });
    expect(observation.digest?.status).toBe('sent');

    for (const job of legacy) {
      const stored = await job.queue.getJob(job.jobId);
      expect(await stored?.getState()).toBe('failed');
      // Unrecoverable: one attempt, not five; the reason names the job kind and the fields.
      expect(stored?.attemptsMade).toBe(1);
      expect(stored?.failedReason).toMatch(/job payload does not match its schema/);
      expect(stored?.failedReason).toMatch(job.field);
    }
    expect(rig.workers[0]?.isRunning()).toBe(true);
    const audit = await rig.audit({ atSent: observation.atSent });
    expect(audit.problems).toEqual([]);
    expect(audit).toMatchObject({ delivered: 60, duplicates: 0, lost: 0 });
  }, 120_000);
});

import { createReadStream } from 'node:fs';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/logger.ts';
import { deletePrefix } from '../src/redis.ts';
import { importSubscribers } from '../src/subscribers/import-subscribers.ts';
const prefix = `prof-${Date.now()}`;
const app = await createApp(loadConfig({ LETTERPRESS_PREFIX: prefix }), { logger: silentLogger });
const store = app.subscribers;
let tStates = 0, tAdd = 0;
const wrapped = {
  readStates: async (e: string[]) => { const t = performance.now(); const r = await store.readStates(e); tStates += performance.now() - t; return r; },
  addMany: async (i: any) => { const t = performance.now(); const r = await store.addMany(i); tAdd += performance.now() - t; return r; },
  requestSubscription: store.requestSubscription.bind(store),
  addNewMany: async (r: any, s: any) => { const t = performance.now(); const x = await store.addNewMany(r, s); tAdd += performance.now() - t; return x; },
};
const t = performance.now();
const result = await importSubscribers({ subscribers: wrapped as any, newsletters: app.config.newsletters, enqueueConfirmations: async () => {} }, createReadStream('/tmp/b300k.csv'), { isConfirmed: true, onReject: () => {} });
const total = performance.now() - t;
console.log(result, { total: Math.round(total), states: Math.round(tStates), add: Math.round(tAdd), rowsPerSecond: Math.round(300000 / total * 1000), rss: Math.round(process.memoryUsage().rss / 1e6) });
await deletePrefix(app.redis, prefix);
await app.close();

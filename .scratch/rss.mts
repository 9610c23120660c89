import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/logger.ts';
console.log('start', Math.round(process.memoryUsage().rss / 1e6));
const app = await createApp(loadConfig({ LETTERPRESS_PREFIX: 'rss-x' }), { logger: silentLogger });
await import('../src/subscribers/import-subscribers.ts');
console.log('app', Math.round(process.memoryUsage().rss / 1e6), process.memoryUsage());
await app.close();

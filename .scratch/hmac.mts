import { createHmac, createSecretKey } from 'node:crypto';
const key = 'letterpress-development-suppression-key-not-for-production';
const ko = createSecretKey(Buffer.from(key));
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  for (let i = 0; i < 100000; i++) createHmac('sha256', key).update(`suppression:reader-${i}@example.org`).digest('base64url');
  const a = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < 100000; i++) createHmac('sha256', ko).update(`suppression:reader-${i}@example.org`).digest('base64url');
  console.log('string key', Math.round(a), 'ms; KeyObject', Math.round(performance.now() - t), 'ms');
}

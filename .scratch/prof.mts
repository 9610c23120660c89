import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { EmailSchema } from '/work/wt-readers/src/subscribers/subscriber.ts';
let t = Date.now();
let n = 0;
for await (const r of createReadStream('/tmp/b100k.csv').pipe(parse({ bom: true, columns: true, info: true, trim: true, skip_empty_lines: true }))) { n++; }
console.log('parse', n, Date.now() - t, 'ms');
t = Date.now();
for (let i = 0; i < 100000; i++) EmailSchema.safeParse(`bulk-${i}@example.org`);
console.log('zod email', Date.now() - t, 'ms');

import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
async function time(label: string, options: object) {
  const t = Date.now();
  let n = 0;
  for await (const _ of createReadStream('/tmp/b100k.csv').pipe(parse(options))) n++;
  console.log(label, n, Date.now() - t, 'ms');
}
await time('plain arrays', {});
await time('columns', { columns: true });
await time('columns+info', { columns: true, info: true });
await time('columns+trim', { columns: true, trim: true });
await time('all', { bom: true, columns: true, info: true, trim: true, skip_empty_lines: true });
await time('plain arrays again', {});

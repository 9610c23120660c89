import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
async function time(label: string, options: object) {
  const t = Date.now();
  let n = 0; let last: unknown;
  for await (const r of createReadStream('/tmp/b100k.csv').pipe(parse(options))) { n++; last = r; }
  console.log(label, n, Date.now() - t, 'ms', JSON.stringify(last));
}
await time('plain arrays', {});
await time('columns+on_record', { bom: true, columns: true, skip_empty_lines: true, on_record: (record: Record<string,string>, context: { lines: number }) => ({ line: context.lines, record }) });
await time('columns+info', { columns: true, info: true });
await time('plain arrays again', {});

import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
async function time(options: object) {
  const t = performance.now();
  let n = 0;
  for await (const _ of createReadStream('/tmp/b300k.csv').pipe(parse(options))) n++;
  return performance.now() - t;
}
const onRecord = (record: unknown, context: { lines: number }) => ({ line: context.lines, record });
const totals = [0, 0, 0];
for (let round = 0; round < 4; round++) {
  totals[0] += await time({ bom: true, columns: true, skip_empty_lines: true, on_record: onRecord });
  totals[1] += await time({ bom: true, skip_empty_lines: true, raw: true });
  totals[2] += await time({ bom: true, skip_empty_lines: true });
}
console.log('columns+on_record', Math.round(totals[0] / 4), 'arrays+raw', Math.round(totals[1] / 4), 'arrays', Math.round(totals[2] / 4));

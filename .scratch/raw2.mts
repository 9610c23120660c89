import { parse } from 'csv-parse/sync';
// true lines: 1 header, 2 ok, 3 too many fields, 4 ok, 5 blank, 6 ok with "multi\n(7)line", 8 too few, 9 ok, 10 bad quote "x"y, 11 ok
const text = 'email,name\na@x.org,A\nb@x.org,B,extra\nc@x.org,C\n\nd@x.org,"multi\nline"\ne@x.org\nf@x.org,F\ng@x.org,"x"y\nh@x.org,H\n';
let lines = 0;
const skips: string[] = [];
const out = parse(text, { raw: true, skip_empty_lines: true, skip_records_with_error: true, on_skip: (e: any) => { skips.push(`${e?.lines}:${e?.code}`); return undefined; } }) as { record: string[]; raw: string }[];
for (const { record, raw } of out) {
  lines += (raw.match(/\n/g) ?? []).length;
  console.log(record[0], 'my line', raw.endsWith('\n') ? lines : lines + 1, JSON.stringify(raw));
}
console.log(skips);

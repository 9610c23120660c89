import { parse } from 'csv-parse/sync';
const text = 'email,name\na@x.org,"multi\nline"\n\nb@x.org,B\n"broken,\nc@x.org,C\nd@x.org,D\n';
const out = parse(text, { raw: true, skip_empty_lines: true, skip_records_with_error: true, on_skip: (e: any) => { console.log('skip', e?.lines, JSON.stringify(e?.message)); return undefined; } });
console.log(JSON.stringify(out));

import { parse } from 'csv-parse';
import { Readable } from 'node:stream';
const text = ['\uFEFFNewsletters,EMAIL,Name,Phone','daily,a@example.org,Ada,1','daily,b@example.org,Bea,2,extra','culture;daily,c@example.org,"Lovelace, Ada",3','','daily,d@example.org,"Two','lines",4','daily,e@example.org','weekly,f@example.org,Fay,6'].join('\r\n');
const parser = parse({ bom: true, skip_empty_lines: true, raw: true, skip_records_with_error: true, on_skip: (e: any, raw: any) => { console.log('skip', JSON.stringify(raw), parser.info.records); return undefined; } });
Readable.from([Buffer.from(text)]).pipe(parser);
for await (const r of parser) console.log(JSON.stringify(r));

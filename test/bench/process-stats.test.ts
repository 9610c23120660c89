import { describe, expect, it } from 'vitest';
import { parseProcStat, readProcessSample } from '../../bench/process-stats.js';

describe('process accounting', () => {
  it('reads CPU time and resident memory even when the command name holds spaces and parentheses', () => {
    const fields = [
      'S',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
      '250',
      '50',
      '0',
      '0',
      '20',
      '0',
      '5',
      '0',
      '100',
      '999999',
      '2560',
    ];
    const sample = parseProcStat(`4242 (node (worker) x) ${fields.join(' ')} 0 0`, 100, 4096);
    expect(sample).toEqual({ cpuMs: 3_000, rssBytes: 2560 * 4096 });
  });

  it('sees this very process using memory, and nothing for a pid that does not exist', () => {
    const own = readProcessSample(process.pid);
    expect(own?.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(readProcessSample(2 ** 22 + 12345)).toBeUndefined();
  });
});

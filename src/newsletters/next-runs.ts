/**
 * When a newsletter's schedule runs: its cron line read in its time zone, the same calculation (cron-parser) the
 * BullMQ job scheduler makes. Across a daylight-saving change the wall-clock time holds: `0 6 * * *` in Europe/London
 * is 06:00 GMT in winter and 06:00 BST in summer; a time the change skips runs at the first moment after the gap.
 */
import { CronExpressionParser } from 'cron-parser';
import type { NewsletterSchedule, Site } from '../config.js';

/** The next `count` run times after `from`. */
export function nextRuns(
  schedule: Pick<NewsletterSchedule, 'cron' | 'timeZone'>,
  site: Pick<Site, 'timeZone'>,
  from: Date,
  count = 1,
): Date[] {
  const expression = CronExpressionParser.parse(schedule.cron, {
    currentDate: from,
    tz: schedule.timeZone ?? site.timeZone,
  });
  return Array.from({ length: count }, () => expression.next().toDate());
}

// Calendar dates from HR are local to Europe/Helsinki. These helpers turn them into instants.
// They are pure (Intl only), so activities compute them and workflows receive the results.

export const HR_TIME_ZONE = 'Europe/Helsinki';
const DAY_MS = 24 * 60 * 60 * 1000;

// One formatter per zone, made once: constructing an Intl.DateTimeFormat costs about 0.2 ms, and
// a schedule needs a dozen of them (the cleanup and the policy plan compute 50,000 schedules).
// Formatting is pure, so a cached formatter answers as a new one would, in workflows too.
const wallClocks = new Map<string, Intl.DateTimeFormat>();
const calendarDays = new Map<string, Intl.DateTimeFormat>();

function wallClock(timeZone: string): Intl.DateTimeFormat {
  let format = wallClocks.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    wallClocks.set(timeZone, format);
  }
  return format;
}

/** Offset of a time zone from UTC at an instant, in minutes (Helsinki: +120 or +180). */
function offsetMinutes(instant: Date, timeZone: string): number {
  const parts = wallClock(timeZone).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return Math.round((asUtc - instant.getTime()) / 60000);
}

// zonedInstant's answers (epoch ms), keyed by zone, date and time. Each costs two formatToParts
// calls (~25 µs each); a population-wide pass asks it a dozen times per person for dates most
// people share (half the 50,000-identity cleanup's own CPU). Bounded: emptied when full.
const instants = new Map<string, number>();
const MAX_INSTANTS = 20_000;

/** The instant a local wall-clock time occurs in the zone (DST-safe for times outside the gap). */
export function zonedInstant(date: string, time = '00:00', timeZone = HR_TIME_ZONE): Date {
  const key = `${timeZone} ${date} ${time}`;
  let ms = instants.get(key);
  if (ms === undefined) {
    ms = computeZonedInstant(date, time, timeZone);
    if (instants.size >= MAX_INSTANTS) instants.clear();
    instants.set(key, ms);
  }
  return new Date(ms); // a new Date each time: callers may change theirs
}

function computeZonedInstant(date: string, time: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const [hh, mm] = time.split(':').map(Number) as [number, number];
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  // Two passes: the offset at the guessed instant may differ from the offset at the answer near DST.
  const first = guess - offsetMinutes(new Date(guess), timeZone) * 60000;
  return guess - offsetMinutes(new Date(first), timeZone) * 60000;
}

/** Start of a calendar day in Helsinki. */
export function startOfDay(date: string): Date {
  return zonedInstant(date, '00:00');
}

/** End of a calendar day in Helsinki: the start of the next day. */
export function endOfDay(date: string): Date {
  return startOfDay(addDays(date, 1));
}

/** Calendar arithmetic on YYYY-MM-DD strings. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Today's calendar date in Helsinki at an instant. */
export function helsinkiDate(instant: Date): string {
  let format = calendarDays.get(HR_TIME_ZONE);
  if (!format)
    calendarDays.set(HR_TIME_ZONE, (format = new Intl.DateTimeFormat('en-CA', { timeZone: HR_TIME_ZONE })));
  return format.format(instant);
}

export { DAY_MS };

/**
 * The last end date the scheduler plans with. HR writes "no end" as 9999-12-31 (and similar
 * far-future values); Dates that far out overflow calendar arithmetic (year 10000) and Temporal
 * timers, so anything later than this means no end.
 */
export const LAST_SCHEDULABLE_DATE = '2199-12-31';

/** The record's end date as the scheduler uses it: undefined for no end or a far-future sentinel. */
export function scheduledEndDate(record: { endDate?: string | undefined }): string | undefined {
  const end = record.endDate;
  // A date far in the past stays an end date (the late-entry rule holds it); only later than the
  // scheduler can represent means no end.
  return end !== undefined && isRealDate(end) && end <= LAST_SCHEDULABLE_DATE ? end : undefined;
}

/** True for a YYYY-MM-DD string naming a real day (any four-digit year). */
export function isRealDate(date: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return false;
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const at = new Date(Date.UTC(y, m - 1, d));
  return at.getUTCFullYear() === y && at.getUTCMonth() === m - 1 && at.getUTCDate() === d;
}

/** Whole calendar days from `from` to `to` (positive when `to` is later). */
export function daysBetween(from: string, to: string): number {
  const utc = (s: string) => {
    const [y, m, d] = s.split('-').map(Number) as [number, number, number];
    return Date.UTC(y, m - 1, d);
  };
  return Math.round((utc(to) - utc(from)) / DAY_MS);
}

/**
 * When a leaver's account may be deleted: `retentionDays` after the actual disable (never from the
 * HR end date alone; an end date moved later than the disable counts from the end instead).
 */
export function retentionEndsAt(
  disabledAt: string,
  endAt: string | undefined,
  retentionDays: number,
): string {
  const from = Math.max(Date.parse(disabledAt), endAt ? Date.parse(endAt) : 0);
  return new Date(from + retentionDays * DAY_MS).toISOString();
}

import type { SourceRecord } from './identity';
import type { PersonState } from './person-state';
import type { HrRecord } from './record';
import type { RecordSource as Source } from './identity';

// Business rules of snapshot imports (src/activities/import.ts runs them): what ends a person an
// authoritative snapshot leaves out, and how index keys map to identities. Pure.

/** The identity id behind an index key (a teacher's education row is keyed `education:{id}`). */
export const identityIdOfKey = (key: string) => key.replace(/^education:/, '');

/**
 * The record that ends a person missing from an authoritative snapshot: their current record from
 * the source with `endDate` today, or why there is nothing to end (no record from the source, or
 * it already ends today or earlier). Access then ends at `lifecycle.lastDayEndsAt`
 * today and the person workflow runs the leaver; for education, `mergeSources` decides what the
 * identity keeps (a teacher keeps HR's job). A hire that has not started yet ends on its start
 * day: the record rules refuse an end before the start.
 */
export function endedRecord(
  source: Source,
  state: PersonState | null,
  today: string,
): { record: SourceRecord } | { skip: 'noRecord' | 'alreadyEnded' } {
  const current: SourceRecord | undefined =
    source === 'hr'
      ? (state?.records?.hr ?? (state?.records ? undefined : hrOnly(state?.record)))
      : state?.records?.education;
  if (!current) return { skip: 'noRecord' };
  if (current.endDate !== undefined && current.endDate <= today) return { skip: 'alreadyEnded' };
  const endDate = current.startDate > today ? current.startDate : today;
  return { record: { ...current, endDate } };
}

/** A record held before the education source (state without `records`): the HR record itself. */
function hrOnly(record: PersonState['record']): HrRecord | undefined {
  if (!record) return undefined;
  const { education: _education, sources: _sources, ...hr } = record;
  return hr;
}

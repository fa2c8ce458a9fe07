import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { deliverRecord, inBatches, personState } from '../client';
import { helsinkiDate } from '../domain/dates';
import type { Policy } from '../domain/policy';
import type { EducationRecord } from '../domain/education';
import { identityIdOf, indexKeyOf, type SourceRecord } from '../domain/identity';
import type { HrRecord } from '../domain/record';
import type { RecordStore, StagedRow } from '../store/import-staging';
import { isTransientStoreError } from '../store/postgres-index';
import { indexFingerprint, type IndexWrite, type RecordIndex } from '../store/record-index';
import type { PersonState, Source } from '../workflows/messages';

// Snapshot import activities: the diff against the record index, and delivery of changed persons
// to their entity workflows. Rows come from the import's staging (src/store/import-staging.ts),
// so history holds only ids and counts.

export const ImportErrorType = {
  /** The staged rows are gone or incomplete (dropped, or staged into another database). */
  StagingMissing: 'ImportStagingMissing',
  /** The record index database cannot be reached or is busy; retried. */
  IndexUnavailable: 'RecordIndexUnavailable',
  /** The record index failed in a way a retry will not fix (schema, bug). */
  IndexFailed: 'RecordIndexFailed',
  /** Temporal did not take a signal in time; retried. */
  IntakeUnavailable: 'IntakeUnavailable',
} as const;

export interface ImportRef {
  /** The workflow id, import-{source}-{hash}. */
  importId: string;
  /** Where the rows are staged (unique per start, so two runs never share staging). */
  stagingId: string;
  source: Source;
}

export interface ImportAnalysis {
  total: number;
  unchanged: number;
  /** Rows for persons the index knows, with a different record. */
  changed: number;
  /** Rows for persons the index does not know. */
  new: number;
  /** Changed rows whose end date has already passed: the person would be disabled now. */
  disables: number;
  /** Identities in the index when the analysis ran (all sources). */
  managedIdentities: number;
  /** Index entries of this source that the snapshot does not list. */
  missingFromSnapshot: number;
  /** policy.intake.snapshotsAuthoritative for the source: whether missing persons are ended. */
  authoritative: boolean;
  /**
   * Missing persons whose record would be ended (no end date, or one after today): only when
   * authoritative, else 0. Counted as disables by the mass-change guard.
   */
  wouldEnd: number;
  thresholdPercent: number;
  /** The Helsinki date "already past" was judged against. */
  asOf: string;
}

/** What endMissingPersons did (cumulative across its retries, from its heartbeats). */
export interface EndResult {
  /** Index entries of the source that the snapshot leaves out, looked at so far. */
  checked: number;
  /** Persons whose record was re-delivered with an end date. */
  ended: number;
  /** Skipped: their record already ends today or earlier. */
  alreadyEnded: number;
  /** Skipped: no person workflow, or it holds no record from this source. */
  noRecord: number;
  failed: number;
  failures: ImportFailure[];
  /** Resume point: the last index key handled (index order). */
  after: string;
}

export interface ImportFailure {
  employeeId: string;
  line: number;
  message: string;
}

export interface BatchInput extends ImportRef {
  offset: number;
  limit: number;
}

export interface BatchResult {
  /** Rows of the batch handled (delivered, unchanged or failed). */
  done: number;
  unchanged: number;
  delivered: number;
  failed: number;
  failures: ImportFailure[];
}

/** Failures listed per batch (all are counted); enough to act on, bounded for history. */
export const MAX_FAILURES_LISTED = 20;
/** Rows per heartbeat inside a batch: the resume point after a worker crash. */
const CHUNK = 200;
/** Signals in flight per activity. */
const IN_FLIGHT = 16;
const PAGE = 5000;

export interface ClassifiedRow extends StagedRow<SourceRecord> {
  fingerprint: string;
  known: boolean;
}

export interface Classified {
  /** New or changed rows, with the fingerprint to write once delivered. */
  changed: ClassifiedRow[];
  unchanged: number;
  new: number;
  /** Changed rows of known persons whose end date is before `today`. */
  disables: number;
}

/**
 * The diff of some rows against the index: one getMany per call. Also used by the benchmark.
 * Rows are keyed by indexKeyOf (the identity id; a teacher's education row has its own key).
 */
export async function classifyRows(
  rows: readonly StagedRow<SourceRecord>[],
  index: RecordIndex,
  today: string,
  source: Source = 'hr',
): Promise<Classified> {
  const known = await index.getMany(rows.map((r) => indexKeyOf(source, r.record)));
  const out: Classified = { changed: [], unchanged: 0, new: 0, disables: 0 };
  for (const row of rows) {
    const fingerprint = indexFingerprint(row.record);
    const entry = known.get(indexKeyOf(source, row.record));
    if (entry?.fingerprint === fingerprint) {
      out.unchanged++;
      continue;
    }
    out.changed.push({ ...row, fingerprint, known: entry !== undefined });
    if (!entry) out.new++;
    // The index holds hashes only, so a changed row of someone already gone counts too: the
    // guard errs towards asking.
    else if (isPastEnd(row.record, today)) out.disables++;
  }
  return out;
}

/** The end date (last working day) is before today: the person would be disabled now. */
export const isPastEnd = (record: { endDate?: string }, today: string) =>
  record.endDate !== undefined && record.endDate < today;

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

/** Index keys of the source that the staged snapshot does not list, in index order, after `after`. */
async function* missingKeys(index: RecordStore, ref: ImportRef, after = ''): AsyncGenerator<string> {
  const listed = new Set<string>();
  for (let offset = 0; ; offset += PAGE) {
    const rows = await index.staged(ref.stagingId, offset, PAGE);
    for (const r of rows) listed.add(indexKeyOf(ref.source, r.record));
    if (rows.length < PAGE) break;
  }
  for await (const entry of index.all(PAGE)) {
    if (entry.employeeId <= after) continue;
    if (entry.source === ref.source && !listed.has(entry.employeeId)) yield entry.employeeId;
  }
}

/** A record held before the education source (state without `records`): the HR record itself. */
function hrOnly(record: PersonState['record']): HrRecord | undefined {
  if (!record) return undefined;
  const { education: _education, sources: _sources, ...hr } = record;
  return hr;
}

export interface ImportActivityDeps {
  client: Client;
  /** The record store; a function so that a worker opens it only when an import first runs. */
  store: () => RecordStore;
  policy: Policy;
  /** Hands a record to the person workflow; the real one signals with start. */
  deliver?: (record: HrRecord, source: Source, taskQueue: string) => Promise<void>;
  /** Hands an education record to its identity's person workflow; the real one signals with start. */
  deliverEducation?: (record: EducationRecord, taskQueue: string) => Promise<void>;
  /** The clock, for "end date already past". */
  now?: () => Date;
  /** A person's state (their workflow's `state` query); null when Tunnus has never seen the id. */
  readState?: (identityId: string) => Promise<PersonState | null>;
}

export const createImportActivities = ({
  client,
  store,
  policy,
  deliver = async (record, source, taskQueue) =>
    void (await deliverRecord(client, record, source, taskQueue)),
  deliverEducation = async (record, taskQueue) =>
    void (await deliverRecord(client, record, 'education', taskQueue)),
  now = () => new Date(),
  readState = (identityId) => personState(client, identityId),
}: ImportActivityDeps) => ({
  /** Reads every staged row once: what would change, and how many people would be disabled now. */
  async analyseImport(ref: ImportRef): Promise<ImportAnalysis> {
    return guardStore(async () => {
      const ctx = Context.current();
      const index = store();
      const today = helsinkiDate(now());
      const analysis: ImportAnalysis = {
        total: 0,
        unchanged: 0,
        changed: 0,
        new: 0,
        disables: 0,
        managedIdentities: await index.count(),
        missingFromSnapshot: 0,
        authoritative: policy.intake.snapshotsAuthoritative[ref.source],
        wouldEnd: 0,
        thresholdPercent: policy.safety.massChangeThresholdPercent,
        asOf: today,
      };
      const ids = new Set<string>();
      for (let offset = 0; ; offset += PAGE) {
        const rows = await index.staged(ref.stagingId, offset, PAGE);
        const c = await classifyRows(rows, index, today, ref.source);
        analysis.total += rows.length;
        analysis.unchanged += c.unchanged;
        analysis.new += c.new;
        analysis.changed += c.changed.length - c.new;
        analysis.disables += c.disables;
        for (const r of rows) ids.add(indexKeyOf(ref.source, r.record));
        ctx.heartbeat({ offset: offset + rows.length });
        if (rows.length < PAGE) break;
      }
      let scanned = 0;
      const missing: string[] = [];
      for await (const entry of index.all(PAGE)) {
        if (entry.source === ref.source && !ids.has(entry.employeeId)) missing.push(entry.employeeId);
        if (++scanned % PAGE === 0) ctx.heartbeat({ scanned });
      }
      analysis.missingFromSnapshot = missing.length;
      if (analysis.authoritative) {
        // Exact, not the missing count: people who left long ago stay in the index and must not
        // make every later import ask for approval. One state query per missing person.
        for (let i = 0; i < missing.length; i += CHUNK) {
          if (ctx.cancellationSignal.aborted) throw new CancelledFailure('import cancelled');
          await inBatches(missing.slice(i, i + CHUNK), IN_FLIGHT, async (key) => {
            const state = await readState(identityIdOfKey(key)).catch((err: unknown) => {
              throw toIntakeFailure(err);
            });
            if ('record' in endedRecord(ref.source, state, today)) analysis.wouldEnd++;
          });
          ctx.heartbeat({ scanned, checked: i + CHUNK });
        }
      }
      return analysis;
    });
  },

  /**
   * Delivers the new and changed persons among rows offset…offset+limit-1, then records their
   * fingerprints — only after the person workflow has the record (see record-index.ts). Resumes
   * from its last heartbeat after a worker crash; a row delivered twice is dropped by the person
   * workflow as a duplicate.
   */
  async deliverImportBatch(input: BatchInput): Promise<BatchResult> {
    return guardStore(async () => {
      const ctx = Context.current();
      const index = store();
      const today = helsinkiDate(now());
      const rows = await index.staged(input.stagingId, input.offset, input.limit);
      if (rows.length === 0 && input.limit > 0) {
        throw ApplicationFailure.create({
          type: ImportErrorType.StagingMissing,
          message: `no staged rows at offset ${input.offset} for ${input.importId}`,
          nonRetryable: true,
        });
      }
      const resumed = ctx.info.heartbeatDetails as BatchResult | undefined;
      const result: BatchResult = resumed ?? {
        done: 0,
        unchanged: 0,
        delivered: 0,
        failed: 0,
        failures: [],
      };
      const taskQueue = ctx.info.taskQueue;

      while (result.done < rows.length) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('import cancelled');
        const chunk = rows.slice(result.done, result.done + CHUNK);
        const { changed, unchanged } = await classifyRows(chunk, index, today, input.source);
        const written: IndexWrite[] = [];
        await inBatches(changed, IN_FLIGHT, async (row) => {
          try {
            if (input.source === 'education')
              await deliverEducation(row.record as EducationRecord, taskQueue);
            else await deliver(row.record as HrRecord, input.source, taskQueue);
            written.push({
              employeeId: indexKeyOf(input.source, row.record),
              fingerprint: row.fingerprint,
              source: input.source,
            });
          } catch (err) {
            if (!isRejectedByTemporal(err)) throw toIntakeFailure(err);
            result.failed++;
            if (result.failures.length < MAX_FAILURES_LISTED) {
              result.failures.push({
                employeeId: identityIdOf(input.source, row.record),
                line: row.line,
                message: err instanceof Error ? err.message : String(err),
              });
            }
          }
        });
        await index.putMany(written);
        result.unchanged += unchanged;
        result.delivered += written.length;
        result.done += chunk.length;
        ctx.heartbeat(result);
      }
      return result;
    });
  },

  /**
   * Ends the persons an authoritative snapshot leaves out (see endedRecord): re-delivers their
   * current record with an end date and records its fingerprint, so that a later snapshot listing
   * them again is a change (a rehire), not "unchanged". Runs after the changed rows are delivered,
   * while the staging still holds the snapshot. Resumes from its last heartbeat (index order); a
   * person handled again after a crash reads as already ended, or — if the signal is not yet
   * processed — gets the same record, which the person workflow drops as a duplicate.
   */
  async endMissingPersons(ref: ImportRef): Promise<EndResult> {
    return guardStore(async () => {
      const ctx = Context.current();
      const index = store();
      const today = helsinkiDate(now());
      const resumed = ctx.info.heartbeatDetails as EndResult | undefined;
      const result: EndResult = resumed ?? {
        checked: 0,
        ended: 0,
        alreadyEnded: 0,
        noRecord: 0,
        failed: 0,
        failures: [],
        after: '',
      };
      if (!policy.intake.snapshotsAuthoritative[ref.source]) return result;
      const taskQueue = ctx.info.taskQueue;

      const handle = async (keys: string[]) => {
        const written: IndexWrite[] = [];
        await inBatches(keys, IN_FLIGHT, async (key) => {
          const identityId = identityIdOfKey(key);
          try {
            const end = endedRecord(ref.source, await readState(identityId), today);
            if ('skip' in end) {
              result[end.skip]++;
              return;
            }
            if (ref.source === 'education') await deliverEducation(end.record as EducationRecord, taskQueue);
            else await deliver(end.record as HrRecord, ref.source, taskQueue);
            written.push({
              employeeId: key,
              fingerprint: indexFingerprint(end.record),
              source: ref.source,
            });
          } catch (err) {
            if (!isRejectedByTemporal(err)) throw toIntakeFailure(err);
            result.failed++;
            if (result.failures.length < MAX_FAILURES_LISTED) {
              result.failures.push({
                employeeId: identityId,
                line: 0,
                message: err instanceof Error ? err.message : String(err),
              });
            }
          }
        });
        await index.putMany(written);
        result.ended += written.length;
        result.checked += keys.length;
        result.after = keys[keys.length - 1]!;
        // A copy: the SDK may send a throttled heartbeat later, while the next chunk counts.
        ctx.heartbeat({ ...result, failures: [...result.failures] });
      };

      let chunk: string[] = [];
      for await (const key of missingKeys(index, ref, result.after)) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('import cancelled');
        chunk.push(key);
        if (chunk.length === CHUNK) {
          await handle(chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) await handle(chunk);
      return result;
    });
  },

  /** Deletes the import's staged rows (idempotent). */
  async dropImportStaging(ref: ImportRef): Promise<void> {
    await guardStore(() => store().dropStaged(ref.stagingId));
  },
});

export type ImportActivities = ReturnType<typeof createImportActivities>;

/** Record store errors → classified failures; everything else passes through. */
async function guardStore<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ApplicationFailure || err instanceof CancelledFailure) throw err;
    if (isTransientStoreError(err)) {
      throw ApplicationFailure.create({
        type: ImportErrorType.IndexUnavailable,
        message: `record index unavailable: ${(err as Error).message}`,
        cause: err as Error,
      });
    }
    if (isStoreError(err)) {
      throw ApplicationFailure.create({
        type: ImportErrorType.IndexFailed,
        message: `record index failed: ${(err as Error).message}`,
        nonRetryable: true,
        cause: err as Error,
      });
    }
    throw err;
  }
}

// pg errors carry a five-character SQLSTATE; better-sqlite3 errors are SqliteError.
function isStoreError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    (err instanceof Error && err.name === 'SqliteError') ||
    (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
  );
}

/** gRPC status on an SDK error (or its cause chain). */
function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

// 3 INVALID_ARGUMENT: Temporal refused this one start (e.g. a search attribute value); a retry
// will not help, and the other rows should still go through.
const isRejectedByTemporal = (err: unknown) => grpcCode(err) === 3;

function toIntakeFailure(err: unknown): unknown {
  const code = grpcCode(err);
  // 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE
  if (code === 4 || code === 8 || code === 14) {
    return ApplicationFailure.create({
      type: ImportErrorType.IntakeUnavailable,
      message: 'Temporal did not take the signal',
      cause: err as Error,
    });
  }
  return err;
}

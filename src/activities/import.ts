import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { deliverRecord, inBatches } from '../client';
import { helsinkiDate } from '../domain/dates';
import type { Policy } from '../domain/policy';
import type { EducationRecord } from '../domain/education';
import { identityIdOf, indexKeyOf, type SourceRecord } from '../domain/identity';
import type { HrRecord } from '../domain/record';
import type { RecordStore, StagedRow } from '../store/import-staging';
import { isTransientStoreError } from '../store/postgres-index';
import { indexFingerprint, type IndexWrite, type RecordIndex } from '../store/record-index';
import type { Source } from '../workflows/messages';

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
  /** Index entries of this source that the snapshot does not list (not terminated: see README). */
  missingFromSnapshot: number;
  thresholdPercent: number;
  /** The Helsinki date "already past" was judged against. */
  asOf: string;
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
      for await (const entry of index.all(PAGE)) {
        if (entry.source === ref.source && !ids.has(entry.employeeId)) analysis.missingFromSnapshot++;
        if (++scanned % PAGE === 0) ctx.heartbeat({ scanned });
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
      const result: BatchResult = resumed ?? { done: 0, unchanged: 0, delivered: 0, failed: 0, failures: [] };
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

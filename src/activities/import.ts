import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { inBatches } from '../in-batches';
import { classifyChange } from '../domain/access-loss';
import { helsinkiDate } from '../domain/dates';
import type { EducationRecord } from '../domain/education';
import { identityIdOf, indexKeyOf, type SourceRecord } from '../domain/identity';
import { endedRecord, identityIdOfKey } from '../domain/import-rules';
import { lossSetHash, type GuardVerdict, type Loss } from '../domain/mass-change';
import type { Policy } from '../domain/policy';
import type { HrRecord } from '../domain/record';
import { admitApproved, admitLosses, recordAfter } from '../ops/guard';
import { classifyRecords, deliverAdmitted, type IntakeItem } from '../ops/intake';
import { deliverRecord, personState } from '../ops/persons';
import { sweepEndedImports } from '../ops/staging-sweep';
import { guardStore, StoreErrorType } from '../store/errors';
import { isGone, isLive, type RecordStore, type StagedRow } from '../store/import-staging';
import type { RecordIndex } from '../store/record-index';
import type { PersonState, Source } from '../workflows/messages';
import { createGuardActivities } from './guard';
import { IntakeErrorType, isRejectedByTemporal, toIntakeFailure } from './temporal-errors';

export { endedRecord, identityIdOfKey } from '../domain/import-rules';

// Snapshot import activities: the diff against the record index, the mass-change guard over what
// the snapshot would take away, and delivery of changed persons to their entity workflows through
// the intake use-case's batch form (src/ops/intake.ts deliverAdmitted: the same unchanged rule,
// index entries and order of writes as a PUT or `tunnus hire`). Rows
// come from the import's staging (src/store/import-staging.ts), so history holds only ids and
// counts. The business rules live in src/domain (import-rules.ts, access-loss.ts), store errors
// in src/store/errors.ts, Temporal client errors in ./temporal-errors.ts.

export const ImportErrorType = {
  /** The staged rows are gone or incomplete (dropped, or staged into another database). */
  StagingMissing: 'ImportStagingMissing',
  ...StoreErrorType,
  ...IntakeErrorType,
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
  /** Persons whose access would end within the guard's window (end dates, ends of missing persons). */
  disables: number;
  /** Persons whose account would be deleted. */
  deletes: number;
  /** Persons who would lose managed groups or licences by a role change. */
  roleChanges: number;
  /** Active identities when the analysis ran: the guard's denominator. */
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
  /** The Helsinki date the changes were judged against. */
  asOf: string;
  /** The guard's verdict over every loss of access the import would cause (with the window). */
  guard: GuardVerdict;
  /** Whether the losses were admitted into the guard's window (ok), or wait for approval. */
  admitted: boolean;
}

/** After an approval: admitted as approved, or the set moved and the new verdict asks again. */
export type Confirmation = { confirmed: true } | { confirmed: false; guard: GuardVerdict };

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

/** A staged row whose person was deleted (key destroyed) while the import waited. */
export const GONE_MESSAGE = 'the person was deleted after retention while the import waited (key destroyed)';
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
}

/**
 * The diff of some rows against the index: one getMany per call. Also used by the benchmark.
 * Rows are keyed by indexKeyOf (the identity id; a teacher's education row has its own key).
 */
export async function classifyRows(
  rows: readonly StagedRow<SourceRecord>[],
  index: RecordIndex,
  source: Source = 'hr',
): Promise<Classified> {
  const classified = await classifyRecords(
    index,
    rows.map((row) => ({ record: row.record, source, row })),
  );
  const out: Classified = { changed: [], unchanged: 0, new: 0 };
  for (const c of classified) {
    if (c.unchanged) {
      out.unchanged++;
      continue;
    }
    out.changed.push({ ...c.item.row, fingerprint: c.fingerprint, known: c.known });
    if (!c.known) out.new++;
  }
  return out;
}

/** Index keys of the source that the staged snapshot does not list, in index order, after `after`. */
async function* missingKeys(index: RecordStore, ref: ImportRef, after = ''): AsyncGenerator<string> {
  const listed = new Set<string>();
  for (let offset = 0; ; offset += PAGE) {
    const rows = await index.staged(ref.stagingId, offset, PAGE);
    for (const r of rows) if (!isGone(r)) listed.add(indexKeyOf(ref.source, r.record));
    if (rows.length < PAGE) break;
  }
  for await (const entry of index.all(PAGE)) {
    if (entry.employeeId <= after) continue;
    if (entry.source === ref.source && !listed.has(entry.employeeId)) yield entry.employeeId;
  }
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

export const createImportActivities = (deps: ImportActivityDeps) => {
  const {
    client,
    store,
    policy,
    deliver = async (record, source, taskQueue) =>
      void (await deliverRecord(client, record, source, taskQueue)),
    deliverEducation = async (record, taskQueue) =>
      void (await deliverRecord(client, record, 'education', taskQueue)),
    now = () => new Date(),
    readState = (identityId) => personState(client, identityId),
  } = deps;
  const state = (identityId: string) =>
    readState(identityId).catch((err: unknown) => {
      throw toIntakeFailure(err);
    });
  /** The intake use-case's batch form, over this worker's delivery (src/ops/intake.ts). */
  const intake = <I extends IntakeItem>(index: RecordIndex, taskQueue: string, items: readonly I[]) =>
    deliverAdmitted(
      {
        index,
        deliver: (record, source) =>
          source === 'education'
            ? deliverEducation(record as EducationRecord, taskQueue)
            : deliver(record as HrRecord, source, taskQueue),
        isRejected: isRejectedByTemporal,
        concurrency: IN_FLIGHT,
      },
      items,
    ).catch((err: unknown) => {
      throw toIntakeFailure(err);
    });

  /**
   * Reads every staged row once: what would change, and every loss of access it would cause
   * (src/domain/access-loss.ts, against each changed person's current record), including the ends
   * of persons an authoritative snapshot leaves out. Heartbeats as it goes.
   */
  async function study(ref: ImportRef, asOf: Date) {
    const ctx = Context.current();
    const index = store();
    const today = helsinkiDate(asOf);
    const counts = { total: 0, unchanged: 0, changed: 0, new: 0, missing: 0, wouldEnd: 0 };
    const losses: Loss[] = [];
    const classify = (identityId: string, s: PersonState | null, record: SourceRecord) => {
      const after = recordAfter(ref.source, s, record);
      const loss = after && classifyChange({ identityId, before: s?.record, after, policy, asOf });
      if (loss) losses.push(loss);
    };
    const ids = new Set<string>();
    for (let offset = 0; ; offset += PAGE) {
      const read = await index.staged(ref.stagingId, offset, PAGE);
      // A person deleted after retention while the import waited: nothing of theirs to study.
      const rows = read.filter(isLive);
      const c = await classifyRows(rows, index, ref.source);
      counts.total += read.length;
      counts.unchanged += c.unchanged;
      counts.new += c.new;
      counts.changed += c.changed.length - c.new;
      for (const r of rows) ids.add(indexKeyOf(ref.source, r.record));
      // Only persons Tunnus holds a record for can lose anything: one state query each.
      const known = c.changed.filter((r) => r.known);
      for (let i = 0; i < known.length; i += CHUNK) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('import cancelled');
        await inBatches(known.slice(i, i + CHUNK), IN_FLIGHT, async (row) => {
          const identityId = identityIdOf(ref.source, row.record);
          classify(identityId, await state(identityId), row.record);
        });
        ctx.heartbeat({ offset, checked: i + CHUNK });
      }
      ctx.heartbeat({ offset: offset + read.length });
      if (read.length < PAGE) break;
    }
    let scanned = 0;
    const missing: string[] = [];
    for await (const entry of index.all(PAGE)) {
      if (entry.source === ref.source && !ids.has(entry.employeeId)) missing.push(entry.employeeId);
      if (++scanned % PAGE === 0) ctx.heartbeat({ scanned });
    }
    counts.missing = missing.length;
    if (policy.intake.snapshotsAuthoritative[ref.source]) {
      // Exact, not the missing count: people who left long ago stay in the index and must not
      // make every later import ask for approval. One state query per missing person.
      for (let i = 0; i < missing.length; i += CHUNK) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('import cancelled');
        await inBatches(missing.slice(i, i + CHUNK), IN_FLIGHT, async (key) => {
          const identityId = identityIdOfKey(key);
          const s = await state(identityId);
          const end = endedRecord(ref.source, s, today);
          if (!('record' in end)) return;
          counts.wouldEnd++;
          classify(identityId, s, end.record);
        });
        ctx.heartbeat({ scanned, checked: i + CHUNK });
      }
    }
    return { counts, losses, today };
  }

  return {
    /**
     * What would change, and the mass-change guard's verdict over every loss of access the import
     * would cause, with the window's earlier losses: ok admits them into the window at once;
     * otherwise nothing is written and the workflow waits for approval.
     */
    async analyseImport(ref: ImportRef): Promise<ImportAnalysis> {
      return guardStore(async () => {
        // Rows a terminated import left behind (no finally ran): gone before this one starts.
        try {
          await sweepEndedImports({ client, store: store() });
        } catch (err) {
          Context.current().log.warn('staging sweep failed', { error: (err as Error).message });
        }
        const asOf = now();
        const { counts, losses, today } = await study(ref, asOf);
        const guard = await admitLosses({ store: store(), policy, now: () => asOf }, ref.importId, losses);
        const { admitted, ...verdict } = guard;
        return {
          total: counts.total,
          unchanged: counts.unchanged,
          changed: counts.changed,
          new: counts.new,
          disables: verdict.disables,
          deletes: verdict.deletes,
          roleChanges: verdict.roleChanges,
          managedIdentities: verdict.managedIdentities,
          missingFromSnapshot: counts.missing,
          authoritative: policy.intake.snapshotsAuthoritative[ref.source],
          wouldEnd: counts.wouldEnd,
          thresholdPercent: policy.safety.massChangeThresholdPercent,
          asOf: today,
          guard: verdict,
          admitted,
        };
      });
    },

    /**
     * After an operator approved set `setHash`: the losses are worked out again, now. The same set
     * is written to the window as approved by them; a set that moved (HR sent something meanwhile,
     * an end date came into the window) is not, and the new verdict goes back to the operator.
     */
    async confirmImportLosses(
      input: ImportRef & { setHash: string; approvedBy: string },
    ): Promise<Confirmation> {
      return guardStore(async () => {
        const asOf = now();
        const { losses } = await study(input, asOf);
        if (lossSetHash(losses) !== input.setHash) {
          const { admitted: _admitted, ...guard } = await admitLosses(
            { store: store(), policy, now: () => asOf },
            input.importId,
            losses,
          );
          // Under the threshold now (the window moved on): admitted, nothing to ask.
          if (guard.verdict === 'ok') return { confirmed: true };
          return { confirmed: false, guard };
        }
        await admitApproved({ store: store(), policy }, input.importId, losses, input.approvedBy);
        return { confirmed: true };
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
          const read = rows.slice(result.done, result.done + CHUNK);
          const chunk = read.filter(isLive);
          for (const r of read) {
            if (!isGone(r)) continue;
            // Sealed with a key destroyed since (deleted after retention): never delivered.
            result.failed++;
            if (result.failures.length < MAX_FAILURES_LISTED)
              result.failures.push({ employeeId: '', line: r.line, message: GONE_MESSAGE });
          }
          const outcome = await intake(
            index,
            taskQueue,
            chunk.map((r) => ({ record: r.record, source: input.source, line: r.line })),
          );
          for (const { item, error } of outcome.failed) {
            result.failed++;
            if (result.failures.length < MAX_FAILURES_LISTED) {
              result.failures.push({
                employeeId: identityIdOf(input.source, item.record),
                line: item.line ?? 0,
                message: error instanceof Error ? error.message : String(error),
              });
            }
          }
          result.unchanged += outcome.unchanged.length;
          result.delivered += outcome.delivered.length;
          result.done += read.length;
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

        const fail = (employeeId: string, err: unknown) => {
          result.failed++;
          if (result.failures.length < MAX_FAILURES_LISTED) {
            result.failures.push({
              employeeId,
              line: 0,
              message: err instanceof Error ? err.message : String(err),
            });
          }
        };
        const handle = async (keys: string[]) => {
          const ends: IntakeItem[] = [];
          await inBatches(keys, IN_FLIGHT, async (key) => {
            const identityId = identityIdOfKey(key);
            try {
              const end = endedRecord(ref.source, await readState(identityId), today);
              if ('skip' in end) result[end.skip]++;
              else ends.push({ record: end.record, source: ref.source });
            } catch (err) {
              if (!isRejectedByTemporal(err)) throw toIntakeFailure(err);
              fail(identityId, err);
            }
          });
          const outcome = await intake(index, taskQueue, ends);
          for (const { item, error } of outcome.failed) fail(identityIdOf(ref.source, item.record), error);
          // Unchanged: delivered and indexed before a crash this activity resumed from.
          result.ended += outcome.delivered.length + outcome.unchanged.length;
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

    // The held set's release runs on the same worker and store.
    ...createGuardActivities({ client, store, policy, now }),
  };
};

export type ImportActivities = ReturnType<typeof createImportActivities>;

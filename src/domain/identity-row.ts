import type { AccountRef } from '../activities/directory';
import { scheduledEndDate } from './dates';
import type { IdentityRecord, RecordSource, SourceRecords } from './identity';
import type { CloudExport, Hold, LifecycleStage, PersonState, RetryDue, RunRef } from './person-state';
import type { Phase, Schedule } from './plan';

// The identity read model's row (src/store/read-model.ts): one per identity, projected from the
// person workflow's state by the pure function below. The workflow is the authority and writes
// its row after every state change (activity recordIdentity); everything population-wide (cleanup,
// plans, explain, the guard's denominator, GET /persons/{id}) reads rows instead of querying every
// workflow. Types and the projection only: workflows import this module.

/** What the last completed run left the person with (the policy's grant for the record it applied). */
export interface RowEntitlements {
  ou: string;
  groups: string[];
  /** Licence part numbers. */
  licences: string[];
  mailbox: boolean;
  cloud: boolean;
  roles: string[];
  /** The record version the grant was computed for. */
  forVersion: number;
}

export interface IdentityRow {
  identityId: string;
  /**
   * When the person workflow's execution chain started (ISO): rows of a restarted workflow (whose
   * versions start again at 1) are newer than any row of the chain before it.
   */
  chain: string;
  /** Incremented by the workflow on every state change it writes; a lower one never overwrites. */
  version: number;
  /** When the workflow made the change (workflow time). */
  updatedAt: string;
  stage: LifecycleStage;
  /** Where the last completed run left the person; absent before any run finished. */
  phase?: Phase;
  /** The source of the last accepted record. */
  source?: RecordSource;
  /** The sources the identity holds a record of. */
  sources: RecordSource[];
  /** Each source's latest record (personal data: sealed at rest). */
  records: SourceRecords;
  /** The merged record planning uses (personal data: sealed at rest); absent while a staff row waits for HR. */
  record?: IdentityRecord;
  /** The person state's record version (per accepted record or re-plan). */
  recordVersion: number;
  /** The newest record version a finished run planned. */
  handledVersion: number;
  recordsReceived: number;
  duplicatesIgnored: number;
  schedule?: Schedule;
  disabledAt?: string;
  account?: Pick<AccountRef, 'sAMAccountName' | 'userPrincipalName'>;
  cloud?: CloudExport;
  /** Filled in by the recordIdentity activity (it holds the policy), kept until a run catches up. */
  entitlements?: RowEntitlements;
  /** The last runs, oldest first (the last one is the last run and its outcome). */
  runs: RunRef[];
  hold?: Hold;
  retry?: RetryDue;
  lastError?: { type: string; message: string; at: string };
}

/** The row's ordering and write stamp, kept in the person state across continue-as-new. */
export interface RowStamp {
  chain: string;
  version: number;
  at: string;
}

/** The state's row, without entitlements (the activity adds them) and stamped as given. */
export function identityRow(state: PersonState, stamp: RowStamp): IdentityRow {
  const records = state.records ?? (state.record ? { hr: state.record } : {});
  return {
    identityId: state.employeeId,
    chain: stamp.chain,
    version: stamp.version,
    updatedAt: stamp.at,
    ...rowContent(state, records),
  };
}

/**
 * The part of the row that is state: what the workflow compares to decide whether anything changed
 * since the row it wrote last (the stamp is not state).
 */
export function rowContent(
  state: PersonState,
  records: SourceRecords = state.records ?? (state.record ? { hr: state.record } : {}),
): Omit<IdentityRow, 'identityId' | 'chain' | 'version' | 'updatedAt' | 'entitlements'> {
  const sources = (['hr', 'education'] as const).filter((s) => records[s] !== undefined);
  return {
    stage: state.stage,
    ...(state.phase ? { phase: state.phase } : {}),
    ...(state.source ? { source: state.source } : {}),
    sources,
    records,
    ...(state.record ? { record: state.record } : {}),
    recordVersion: state.version,
    handledVersion: state.handledVersion ?? state.version,
    recordsReceived: state.recordsReceived,
    duplicatesIgnored: state.duplicatesIgnored,
    ...(state.schedule ? { schedule: state.schedule } : {}),
    ...(state.disabledAt ? { disabledAt: state.disabledAt } : {}),
    ...(state.account
      ? {
          account: {
            sAMAccountName: state.account.sAMAccountName,
            userPrincipalName: state.account.userPrincipalName,
          },
        }
      : {}),
    ...(state.cloud ? { cloud: state.cloud } : {}),
    runs: state.runs.map((r) => ({ ...r })),
    ...(state.hold ? { hold: state.hold } : {}),
    ...(state.retry ? { retry: state.retry } : {}),
    ...(state.lastError ? { lastError: state.lastError } : {}),
  };
}

/** The last run and its outcome, if any. */
export const lastRun = (row: Pick<IdentityRow, 'runs'>): RunRef | undefined => row.runs[row.runs.length - 1];

/** The dates the store keeps in the clear (no names), for counting without opening records. */
export function rowDates(row: Pick<IdentityRow, 'record'>): { startDate?: string; endDate?: string } {
  if (!row.record) return {};
  const end = scheduledEndDate(row.record);
  return { startDate: row.record.startDate, ...(end ? { endDate: end } : {}) };
}

/**
 * Fields that read differently in two rows of one identity (the stamp and the counters of
 * duplicates, which change without the workflow waking, aside): what `tunnus index verify` names.
 */
export function rowDrift(expected: IdentityRow, actual: IdentityRow): string[] {
  const fields = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  const ignored = new Set(['version', 'updatedAt', 'chain', 'recordsReceived', 'duplicatesIgnored']);
  const drift: string[] = [];
  for (const f of [...fields].sort()) {
    if (ignored.has(f)) continue;
    const a = canonical((expected as unknown as Record<string, unknown>)[f]);
    const b = canonical((actual as unknown as Record<string, unknown>)[f]);
    if (a !== b) drift.push(f);
  }
  return drift;
}

/** JSON with object keys sorted, so key order never reads as a difference. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

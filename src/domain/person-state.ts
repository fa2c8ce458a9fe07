import type { AccountRef } from '../activities/directory';
import { addDays, daysBetween, helsinkiDate, scheduledEndDate } from './dates';
import type { EducationRecord } from './education';
import type { RowStamp } from './identity-row';
import { recordFingerprint } from './fingerprint';
import { leaverReminderDue, type PersonNotices } from './person-notices';
import { mergeSources, type IdentityRecord, type RecordSource, type SourceRecords } from './identity';
import type { Phase, PlanFacts, PlanHold, Schedule } from './plan';
import type { HrRecord } from './record';

// A person's state as a pure module, the way Temporal's entity samples keep state in a class:
// the person workflow (src/workflows/person.ts) only wires handlers, waits and continues-as-new;
// every transition is here and is tested without Temporal (test/unit/person-state*.test.ts).
//
// The rules it keeps:
// - Every accepted record gets a version; a run reports the version it last planned
//   (`RunResult.appliedVersion`), and a newer one runs again: no record is ever dropped.
// - Retention counts from the actual disable (`disabledAt`, reported by the run), never from HR.
// - A failed end of access (leaver, delete) stays due with backoff until it succeeds, a corrected
//   record arrives, or an operator resolves it.
// - A change dated after the end date is dropped (the end date applies), with a timeline note.

export type Source = RecordSource;

/** A validated record from one source: an HrRecord from hr, an EducationRecord from education. */
export interface RecordDelivery {
  record: HrRecord | EducationRecord;
  source: Source;
}

export interface SubmitResult {
  accepted: boolean;
  /** 'duplicate' when the record equals the last accepted one (nothing new starts). */
  reason: 'changed' | 'new' | 'duplicate';
}

export type LifecycleStage =
  | 'received'
  | 'joining'
  | 'active'
  | 'updating'
  | 'leaving'
  | 'left'
  | 'deleting'
  | 'deleted'
  | 'failed'
  /** Waiting for an operator: an end date far in the past, or a deletion of an enabled account. */
  | 'held';

/** The child workflows a person runs; each is also the LifecycleStage search attribute of its run. */
export type RunKind = 'joiner' | 'mover' | 'rehire' | 'leaver' | 'delete';

export interface TimelineEntry {
  at: string;
  event: string;
  detail?: string;
}

export interface RunRef {
  workflowId: string;
  kind: RunKind;
  startedAt: string;
  endedAt?: string;
  outcome?: 'completed' | 'failed';
  /** The record version the run started with. */
  version?: number;
  /** The workflow the run took place in when it finished inside its person (`joiner-here`). */
  ranIn?: string;
  /**
   * A run inside its person has no result of its own to read: what it applied (step
   * descriptions: ids, attribute and group names only) and its first-day handover's status.
   */
  applied?: string[];
  handover?: string;
}

/** Whether the person is exported to the cloud, and the policy's reason, from the last run's plan. */
export interface CloudExport {
  exported: boolean;
  reason: string;
}

/** A leaver or delete that did not finish: due again at `at` (backoff), and why. */
export interface RetryDue {
  kind: RunKind;
  attempt: number;
  at: string;
  reason: string;
}

export interface Hold {
  /** massChange: an end falling due that the mass-change guard held (see guardDueEnd). */
  kind: PlanHold['kind'] | 'massChange';
  reason: string;
  endDate?: string;
  since: string;
  /** The record version the hold is for; a newer record plans afresh. */
  version: number;
}

/** Access ended by an operator now, whatever HR says (src/ops/terminate.ts). */
export interface Termination {
  /** When; access ends at this instant (PlanFacts.terminatedAt). */
  at: string;
  /** Who: `cli:{OS user}` or `api:{client}`, never a name from HR. */
  operator: string;
  reason: string;
}

export interface PersonState {
  employeeId: string;
  stage: LifecycleStage;
  /** The source of the last accepted record. */
  source?: Source;
  /**
   * The record planning uses: merged from `records` (src/domain/identity.ts mergeSources); for
   * HR-only people exactly the HR record. Absent until the sources make a person (a staff
   * education row waits for the HR record).
   */
  record?: IdentityRecord;
  /** The latest record of each source. Absent in state carried from before the education source. */
  records?: SourceRecords;
  /** Fingerprint of each source's last accepted record, for de-duplication per source. */
  fingerprints?: Partial<Record<Source, string>>;
  /** Fingerprint of the last accepted record (any source); kept for state carried across versions. */
  fingerprint?: string;
  /** Cloud export status from the last completed run's plan. */
  cloud?: CloudExport;
  /** Incremented per accepted record (and re-plan request); runs catch up to it. */
  version: number;
  /** The newest version a finished run planned (or a failed run started with). */
  handledVersion?: number;
  recordsReceived: number;
  duplicatesIgnored: number;
  account?: AccountRef;
  /** From the last completed run: where the person stands and the dates that move them on. */
  phase?: Phase;
  schedule?: Schedule;
  /** When the end of access actually disabled the account; retention counts from here. */
  disabledAt?: string;
  /** An end date far in the past that an operator confirmed (`confirmEndDate` update). */
  confirmedEndDate?: string;
  /** The plan stopped for an operator (see Hold); nothing runs for this record until resolved. */
  hold?: Hold;
  /** A leaver or delete that failed: retried at `at` with backoff. */
  retry?: RetryDue;
  /** The end date last seen on the record, and when it arrived (was it in the guard's window then?). */
  endSeen?: { endDate: string; at: string };
  /** An end date the mass-change guard admitted (or an operator approved) when it fell due. */
  guardAdmitted?: string;
  /** The identity read model row last written (src/workflows/person.ts writeRow): its order. */
  row?: RowStamp;
  /** An operator ended access (`tunnus terminate`): kept until lifted, whatever HR's records say. */
  termination?: Termination;
  /** @deprecated carried from before `retry`; no longer read. */
  failedDueAt?: string;
  /** What the running child is doing right now (e.g. "waiting for start date 2027-01-07"). */
  status?: string;
  lastError?: { type: string; message: string; at: string };
  /** Notices sent for this person (src/domain/person-notices.ts); absent before notices. */
  notices?: PersonNotices;
  runs: RunRef[];
  timeline: TimelineEntry[];
  runSeq: number;
}

/** What a finished run reports (src/workflows/converge.ts ProvisionResult carries more). */
export interface RunResult {
  phase: Phase;
  schedule: Schedule;
  account?: AccountRef;
  deleted?: boolean;
  applied: string[];
  cloud?: CloudExport;
  /** The record version the run last planned and applied; absent from runs before versions. */
  appliedVersion?: number;
  /** When this run (or an earlier one it was told of) disabled the account. */
  disabledAt?: string;
  /** End-of-access steps that failed; the account is disabled, the rest is retried. */
  failures?: { step: string; type: string; message: string }[];
  hold?: PlanHold;
}

/** The input a run gets besides the record: its version and the facts the plan needs. */
export interface RunFacts extends PlanFacts {
  version: number;
}

export const MAX_TIMELINE = 50;
export const MAX_RUNS = 20;
/** Backoff of a failed leaver or delete: 1 min, doubling, at most 6 hours apart. */
export const RETRY_FIRST_MS = 60_000;
export const RETRY_MAX_MS = 6 * 60 * 60 * 1000;

export function initialState(employeeId: string): PersonState {
  return {
    employeeId,
    stage: 'received',
    version: 0,
    handledVersion: 0,
    recordsReceived: 0,
    duplicatesIgnored: 0,
    runs: [],
    timeline: [],
    runSeq: 0,
  };
}

/**
 * State carried from earlier versions: the HR record becomes the HR entry of `records`; the
 * handled version is the current one (earlier code continued-as-new only when idle).
 */
export function upgrade(state: PersonState): PersonState {
  if (!state.records && state.record) {
    state.records = { hr: state.record };
    state.fingerprints = state.fingerprint ? { hr: state.fingerprint } : {};
  }
  state.handledVersion ??= state.version;
  return state;
}

export function note(state: PersonState, now: number, event: string, detail?: string): void {
  state.timeline.push({ at: new Date(now).toISOString(), event, ...(detail ? { detail } : {}) });
  if (state.timeline.length > MAX_TIMELINE) state.timeline.splice(0, state.timeline.length - MAX_TIMELINE);
}

/** A record from one source: de-duplicated, merged with the other source, versioned. */
export function accept(state: PersonState, delivery: RecordDelivery, now: number): SubmitResult {
  state.recordsReceived++;
  const { source } = delivery;
  const fingerprint = recordFingerprint(delivery.record);
  const fingerprints = (state.fingerprints ??= {});
  // Per source: the same HR record again is a duplicate, an education row beside it is not.
  if (fingerprint === fingerprints[source]) {
    state.duplicatesIgnored++;
    return { accepted: false, reason: 'duplicate' };
  }
  const records = (state.records ??= {});
  const reason = records[source] ? 'changed' : 'new';
  if (source === 'education') records.education = delivery.record as EducationRecord;
  else records.hr = delivery.record as HrRecord;
  fingerprints[source] = fingerprint;
  state.fingerprint = fingerprint;
  state.source = source;
  const event = reason === 'new' ? 'record received' : 'record changed';
  const merged = mergeSources(records);
  if (!merged) {
    note(state, now, event, `from ${source}; staff row: waiting for the HR record`);
    return { accepted: true, reason };
  }
  const before = state.record;
  const { record, dropped } = endDateWins(merged, before);
  state.record = record;
  const endDate = scheduledEndDate(record);
  if (!endDate) delete state.endSeen;
  else if (state.endSeen?.endDate !== endDate) state.endSeen = { endDate, at: new Date(now).toISOString() };
  if (dropped) note(state, now, 'dated change dropped', dropped);
  // A change the merge hides (HR wins shared attributes) plans nothing new.
  if (before && recordFingerprint(before) === recordFingerprint(record)) {
    note(state, now, event, `from ${source}; no change to the merged record`);
    return { accepted: true, reason };
  }
  state.version++;
  note(state, now, event, `from ${source}`);
  return { accepted: true, reason };
}

/**
 * An end date always wins: a change dated after the last working day never takes effect, so it is
 * dropped and only the end date is taken (onto the record held before, if any).
 */
export function endDateWins(
  record: IdentityRecord,
  previous: IdentityRecord | undefined,
): { record: IdentityRecord; dropped?: string } {
  const end = scheduledEndDate(record);
  const effective = record.effectiveDate;
  if (!effective || !end || effective <= end) return { record };
  const why = `change dated ${effective} is after the end date ${end}: only the end date applies`;
  if (!previous) {
    const { effectiveDate: _dropped, ...rest } = record;
    return { record: rest, dropped: why };
  }
  const { effectiveDate: _old, endDate: _oldEnd, ...kept } = previous;
  return { record: { ...kept, endDate: record.endDate! }, dropped: why };
}

/** Plan again with the record held (a policy rollout); nothing to plan before the first record. */
export function requestReplan(state: PersonState, reason: string, now: number): boolean {
  if (!state.record) return false;
  state.version++;
  note(state, now, 're-plan requested', reason);
  return true;
}

export interface EndDateConfirmation {
  /** The end date the operator confirms (must be the held one: a later record is not confirmed). */
  endDate: string;
  /** Who confirmed (an operator id, never a name from HR). */
  operator: string;
}

/** An operator confirms a held end date far in the past: the leaver then runs. */
export function confirmEndDate(
  state: PersonState,
  confirmation: EndDateConfirmation,
  now: number,
): { confirmed: boolean; reason: string } {
  const hold = state.hold;
  if (hold?.kind !== 'lateEndDate') return { confirmed: false, reason: 'no end date is held' };
  if (hold.endDate !== confirmation.endDate) {
    return { confirmed: false, reason: `the held end date is ${hold.endDate}` };
  }
  state.confirmedEndDate = confirmation.endDate;
  delete state.hold;
  state.version++;
  note(state, now, 'end date confirmed', `${confirmation.endDate} by ${confirmation.operator}`);
  return { confirmed: true, reason: 'leaver starts' };
}

/** True when a record (or re-plan) has not yet been planned by a finished run. */
export const hasNewRecord = (state: PersonState): boolean =>
  state.record !== undefined && state.version > (state.handledVersion ?? 0);

/**
 * Which run a new record starts: joiner without an account; leaver when the end date has passed
 * (terminations are often entered late); rehire when a leaver's new record makes them current
 * again; otherwise mover.
 */
export function kindForRecord(state: PersonState, now: number): RunKind {
  if (!state.account) return 'joiner';
  const end = scheduledEndDate(state.record!);
  const ended = end !== undefined && end < helsinkiDate(new Date(now));
  const gone = state.phase === 'left' || state.phase === 'deleted';
  // Terminated: ended now, and no record makes the person current again until it is lifted.
  if (state.termination) return gone ? 'mover' : 'leaver';
  if (ended && !gone) return 'leaver';
  if (!ended && state.phase === 'left') return 'rehire';
  return 'mover';
}

export interface Due {
  /** A run, or (with `reminders`) the manager's reminder of the last working day: no run. */
  kind: RunKind | 'leaverReminder';
  at: number;
  what: string;
}

/**
 * What the idle person waits for next: the next dated run and, with `reminders` (the person
 * workflow behind patched('notices')), the leaver reminder if it comes first. A moved end date
 * moves both (the run that planned it brings the new schedule).
 */
export function nextDue(state: PersonState, options: { reminders?: boolean } = {}): Due | undefined {
  const run = nextRunDue(state);
  const reminder = options.reminders ? leaverReminderDue(state) : undefined;
  if (!reminder || (run && run.at <= reminder.at)) return run;
  return {
    kind: 'leaverReminder',
    at: reminder.at,
    what: `reminding the manager on ${helsinkiDate(new Date(reminder.at))} of the last working day ${reminder.endDate}`,
  };
}

/** The next dated run: a retry of a stuck end of access, the last working day, end of retention. */
function nextRunDue(state: PersonState): (Due & { kind: RunKind }) | undefined {
  // An operator or a new record decides.
  if (state.hold?.kind === 'lateEndDate' || state.hold?.kind === 'massChange') return undefined;
  if (state.retry) {
    const { kind, attempt, at, reason } = state.retry;
    return finite({ kind, at: Date.parse(at), what: `retrying ${kind} (attempt ${attempt + 1}): ${reason}` });
  }
  const s = state.schedule;
  if (!s) return undefined;
  if ((state.phase === 'prehire' || state.phase === 'active') && s.endAt) {
    return finite({
      kind: 'leaver',
      at: Date.parse(s.endAt),
      what: `waiting for the last working day to end (${s.endAt.slice(0, 10)})`,
    });
  }
  if (state.phase === 'left' && s.deleteAt) {
    return finite({
      kind: 'delete',
      at: Date.parse(s.deleteAt),
      what: `retention: waiting to delete the account on ${s.deleteAt.slice(0, 10)}`,
    });
  }
  return undefined;
}

const finite = <D extends Due>(due: D): D | undefined => (Number.isFinite(due.at) ? due : undefined);

/** What the person should run now, if anything: a new record first, then a due date. */
export function nextRun(state: PersonState, now: number): RunKind | undefined {
  if (hasNewRecord(state)) return kindForRecord(state, now);
  const due = nextRunDue(state);
  return due && now >= due.at ? due.kind : undefined;
}

/**
 * The end date to ask the mass-change guard about before the leaver runs, if any: the end of the
 * last working day is due now (the timer, not a new record: a record went through the guard at
 * intake) and that end was not counted already. An end date that arrived on the day before it or
 * later was within the guard's window at intake (an end of today or tomorrow always is), and one
 * an operator confirmed (confirmEndDate) or the guard already admitted or approved is not asked
 * about again. State carried from before `endSeen` asks (the guard counts an identity once).
 */
export function dueEndToGuard(state: PersonState, now: number): string | undefined {
  if (hasNewRecord(state) || state.retry || state.hold) return undefined;
  const due = nextRunDue(state);
  if (due?.kind !== 'leaver' || now < due.at) return undefined;
  const endDate = state.record && scheduledEndDate(state.record);
  if (!endDate || endDate === state.guardAdmitted || endDate === state.confirmedEndDate) return undefined;
  const seen = state.endSeen;
  if (seen?.endDate === endDate && helsinkiDate(new Date(seen.at)) >= addDays(endDate, -1)) return undefined;
  return endDate;
}

/** The ledger ref of an end counted when it fell due: one per person and end date (retries are no-ops). */
export const dueEndRef = (identityId: string, endDate: string): string => `end:${identityId}:${endDate}`;

/** What the guard answered for an end falling due (src/activities/guard.ts admitDueEnd). */
export interface DueEndAdmission {
  admitted: boolean;
  /** Identities losing access in the window, this one included. */
  affected: number;
}

/** Admitted: the leaver runs. Over the threshold: held, visibly, until the held set is approved. */
export function onDueEndGuarded(
  state: PersonState,
  endDate: string,
  admission: DueEndAdmission,
  now: number,
): void {
  // Approved already: the held set's release overtook the guard's answer (releaseGuardHold).
  if (admission.admitted || state.guardAdmitted === endDate) {
    state.guardAdmitted = endDate;
    note(state, now, 'end admitted by the mass-change guard', endDate);
    return;
  }
  const reason = `held: mass-change guard (${admission.affected} ends due in the window)`;
  state.hold = {
    kind: 'massChange',
    reason,
    endDate,
    since: new Date(now).toISOString(),
    version: state.version,
  };
  state.stage = 'held';
  note(state, now, 'leaver held', reason);
}

/** The held set with this end was approved (`guardReleased` signal): the leaver runs. */
export function releaseGuardHold(
  state: PersonState,
  release: { endDate: string; approvedBy: string },
  now: number,
): boolean {
  const early = !state.hold && state.record && scheduledEndDate(state.record) === release.endDate;
  if (!early && (state.hold?.kind !== 'massChange' || state.hold.endDate !== release.endDate)) return false;
  delete state.hold;
  state.guardAdmitted = release.endDate;
  note(state, now, 'end approved', `${release.endDate} by ${release.approvedBy}`);
  return true;
}

/** The record and facts a run starts (or is signalled) with. */
export function runFacts(state: PersonState): RunFacts {
  return {
    version: state.version,
    ...(state.disabledAt ? { disabledAt: state.disabledAt } : {}),
    ...(state.confirmedEndDate ? { confirmedEndDate: state.confirmedEndDate } : {}),
    ...(state.termination ? { terminatedAt: state.termination.at } : {}),
  };
}

const runningStage: Record<RunKind, LifecycleStage> = {
  joiner: 'joining',
  mover: 'updating',
  rehire: 'updating',
  leaver: 'leaving',
  delete: 'deleting',
};

export function onRunStarted(state: PersonState, kind: RunKind, now: number): RunRef {
  const workflowId = `${kind}-${state.employeeId}-${++state.runSeq}`;
  const ref: RunRef = { workflowId, kind, startedAt: new Date(now).toISOString(), version: state.version };
  state.runs.push(ref);
  if (state.runs.length > MAX_RUNS) state.runs.shift();
  state.stage = runningStage[kind];
  note(state, now, `${kind} started`, workflowId);
  return ref;
}

export function onRunFinished(state: PersonState, ref: RunRef, result: RunResult, now: number): void {
  ref.endedAt = new Date(now).toISOString();
  ref.outcome = 'completed';
  const applied = result.appliedVersion ?? ref.version ?? state.version;
  state.handledVersion = Math.max(state.handledVersion ?? 0, applied);
  if (result.cloud) state.cloud = result.cloud;
  if (result.deleted || result.phase === 'deleted') delete state.account;
  else if (result.account) state.account = result.account;

  if (result.hold) {
    // Nothing was applied: the phase stays what the directory holds; the hold says why.
    state.hold = {
      kind: result.hold.kind,
      reason: result.hold.reason,
      ...(result.hold.kind === 'lateEndDate' ? { endDate: result.hold.endDate } : {}),
      since: ref.endedAt,
      version: applied,
    };
    state.stage = 'held';
    if (result.hold.kind === 'deleteBlocked') retryLater(state, 'delete', result.hold.reason, now);
    else delete state.retry;
    note(state, now, `${ref.kind} held`, result.hold.reason);
    return;
  }
  delete state.hold;
  state.phase = result.phase;
  state.schedule = result.schedule;
  if (result.phase === 'left') {
    if (result.disabledAt && !state.disabledAt) state.disabledAt = result.disabledAt;
  } else {
    // Active again (rehire, end date removed) or deleted: retention no longer runs.
    delete state.disabledAt;
    delete state.confirmedEndDate;
  }
  if (result.failures && result.failures.length > 0) {
    const first = result.failures[0]!;
    const reason = `${first.step}: ${first.type}${result.failures.length > 1 ? ` (+${result.failures.length - 1})` : ''}`;
    state.lastError = { type: first.type, message: `end of access incomplete: ${reason}`, at: ref.endedAt };
    retryLater(state, result.phase === 'deleted' ? 'delete' : 'leaver', reason, now);
    state.stage = 'failed';
    note(
      state,
      now,
      `${ref.kind} incomplete`,
      `${reason}; account ${state.disabledAt ? 'disabled' : 'not disabled'}`,
    );
    return;
  }
  delete state.retry;
  delete state.lastError;
  state.stage = stageAfter(result.phase, !!state.account);
  const stale = applied < state.version;
  note(
    state,
    now,
    `${ref.kind} completed`,
    `${result.applied.length} steps${stale ? '; a newer record arrived: planning it next' : ''}`,
  );
}

export function onRunFailed(
  state: PersonState,
  ref: RunRef,
  failure: { type: string; message: string },
  now: number,
): void {
  ref.endedAt = new Date(now).toISOString();
  ref.outcome = 'failed';
  // The run may not have seen records signalled to it: only the one it started with is handled.
  state.handledVersion = Math.max(state.handledVersion ?? 0, ref.version ?? state.version);
  state.lastError = { ...failure, at: ref.endedAt };
  state.stage = 'failed';
  note(state, now, `${ref.kind} failed`, failure.type);
  // The end of access never gives up: a failed leaver or delete (or any run while the record says
  // the person has left) stays due with backoff. Others wait for a corrected record.
  const ended = kindForRecord(state, now) === 'leaver' || state.phase === 'left';
  const kind: RunKind | undefined =
    ref.kind === 'leaver' || ref.kind === 'delete' ? ref.kind : ended && state.account ? 'leaver' : undefined;
  if (kind) retryLater(state, kind, failure.type, now);
  else delete state.retry;
}

function retryLater(state: PersonState, kind: RunKind, reason: string, now: number): void {
  const attempt = state.retry?.kind === kind ? state.retry.attempt + 1 : 1;
  const wait = Math.min(RETRY_FIRST_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
  state.retry = { kind, attempt, at: new Date(now + wait).toISOString(), reason };
}

export function stageAfter(phase: Phase, hasAccount: boolean): LifecycleStage {
  if (phase === 'left') return 'left';
  if (phase === 'deleted') return 'deleted';
  return hasAccount ? 'active' : 'received';
}

/** One line for the Web UI's current details: what the person waits for, or why it is stuck. */
export function describeWait(state: PersonState, due: Due | undefined, now: number): string {
  if (state.hold) {
    const confirm =
      state.hold.kind === 'lateEndDate'
        ? `; confirm with the confirmEndDate update (${state.hold.endDate})`
        : state.hold.kind === 'massChange'
          ? `; account still enabled; approve the held set: tunnus approve mass-change-hold (end ${state.hold.endDate})`
          : '';
    return `${state.hold.reason}${confirm}`;
  }
  const t = state.termination;
  const terminated = t
    ? `terminated ${t.at} by ${t.operator}, HR records do not re-enable (lift: tunnus terminate --lift); `
    : '';
  const stuck = state.lastError && state.retry ? `failed: ${state.lastError.message}; ` : '';
  const disabled = state.retry && state.disabledAt ? 'account disabled; ' : '';
  if (due)
    return `${state.stage}: ${terminated}${stuck}${disabled}${due.what}${due.at <= now ? ' (due now)' : ''}`;
  return `${state.stage}: ${terminated}waiting for HR records`;
}

/** Days from an end date to today (for messages), e.g. an end date held for confirmation. */
export const daysPast = (endDate: string, now: number): number =>
  daysBetween(endDate, helsinkiDate(new Date(now)));

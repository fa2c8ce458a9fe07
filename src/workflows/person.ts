import {
  ChildWorkflowFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { recordFingerprint } from '../domain/fingerprint';
import type { ProvisionResult } from './converge';
import { helsinkiDate } from '../domain/dates';
import type { Phase } from '../domain/plan';
import type { EducationRecord } from '../domain/education';
import { mergeSources, type IdentityRecord } from '../domain/identity';
import type { HrRecord } from '../domain/record';
import { joinerWorkflow } from './joiner';
import { deleteWorkflow, leaverWorkflow, rehireWorkflow } from './lifecycle';
import {
  recordChangedSignal,
  recordSignal,
  replanSignal,
  stateQuery,
  submitRecordUpdate,
  EmployeeIdKey,
  LifecycleStageKey,
  OrgUnitKey,
  type LifecycleStage,
  type PersonState,
  type RecordDelivery,
  type RunKind,
  type RunRef,
  type SubmitResult,
} from './messages';
import { moverWorkflow } from './mover';
import { MAX_HISTORY_EVENTS, MAX_RUNS, MAX_TIMELINE } from './options';

// The entity workflow: one per person (`person-{employeeId}`). It serialises every event for the
// person, drops duplicates, runs one joiner/mover child at a time and forwards newer records to
// it, and keeps a short timeline that the `state` query (and `tunnus person show`) exposes.
// It holds the latest record of each source (HR, education) and runs with the one record merged
// from them (src/domain/identity.ts), so a teacher known to both systems is one identity.

export interface PersonInput {
  employeeId: string;
  /** Carried across continue-as-new. */
  state?: PersonState;
}

export function initialState(employeeId: string): PersonState {
  return {
    employeeId,
    stage: 'received',
    version: 0,
    recordsReceived: 0,
    duplicatesIgnored: 0,
    runs: [],
    timeline: [],
    runSeq: 0,
  };
}

export async function personWorkflow(input: PersonInput): Promise<void> {
  const state = input.state ?? initialState(input.employeeId);
  carryForward(state);
  // Continue-as-new happens only when idle, so everything carried over has been handled.
  let handled = state.version;
  setHandler(stateQuery, () => state);

  const note = (event: string, detail?: string) => {
    state.timeline.push({ at: new Date().toISOString(), event, ...(detail ? { detail } : {}) });
    if (state.timeline.length > MAX_TIMELINE) state.timeline.splice(0, state.timeline.length - MAX_TIMELINE);
  };
  const setStage = (stage: LifecycleStage) => {
    state.stage = stage;
    upsertSearchAttributes([{ key: LifecycleStageKey, value: stage }]);
  };

  const accept = (delivery: RecordDelivery): SubmitResult => {
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
      note(event, `from ${source}; staff row: waiting for the HR record`);
      return { accepted: true, reason };
    }
    const before = state.record;
    state.record = merged;
    // A change the merge hides (HR wins shared attributes) plans nothing new.
    if (before && recordFingerprint(before) === recordFingerprint(merged)) {
      note(event, `from ${source}; no change to the merged record`);
      return { accepted: true, reason };
    }
    state.version++;
    note(event, `from ${source}`);
    return { accepted: true, reason };
  };
  setHandler(recordSignal, (delivery) => void accept(delivery));
  setHandler(submitRecordUpdate, accept);
  setHandler(replanSignal, ({ reason }) => {
    if (!state.record) return; // nothing to plan yet; the first record starts a joiner anyway
    state.version++;
    note('re-plan requested', reason);
  });

  const continueAsNewDue = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;

  for (;;) {
    // Idle: wait for a record, the next dated run (last working day, end of retention), or a
    // long history. The timer is re-armed from the latest run's schedule on every pass, so a
    // moved end date moves it and a removed end date cancels it.
    const due = nextDue(state);
    const isDue = () => due !== undefined && Date.now() >= due.at;
    const ready = () => state.version > handled || continueAsNewDue() || isDue();
    // Current details say what the person waits for (they also survive continue-as-new, where
    // the static summary does not).
    if (due) {
      setCurrentDetails(`${state.stage}: ${due.what}`);
      await condition(ready, Math.max(due.at - Date.now(), 1), { summary: due.what });
    } else {
      setCurrentDetails(`${state.stage}: waiting for HR records`);
      await condition(ready);
    }
    if (state.version > handled) {
      handled = state.version;
      await run(kindForRecord(state), state.record!);
    } else if (isDue()) {
      await run(due!.kind, state.record!, due!.iso);
    } else {
      // Idle and the history is long: start afresh with the state carried over.
      await condition(allHandlersFinished);
      if (state.version === handled) {
        return continueAsNew<typeof personWorkflow>({ employeeId: state.employeeId, state });
      }
    }
  }

  /** Runs one child to completion, forwarding newer records to it (it re-plans with them). */
  async function run(kind: RunKind, record: IdentityRecord, dueIso?: string): Promise<void> {
    const workflowId = `${kind}-${state.employeeId}-${++state.runSeq}`;
    const ref: RunRef = { workflowId, kind, startedAt: new Date().toISOString() };
    state.runs.push(ref);
    if (state.runs.length > MAX_RUNS) state.runs.shift();
    setStage(runningStage[kind]);
    note(`${kind} started`, workflowId);
    setCurrentDetails(`running ${workflowId}`);

    const child: ChildWorkflowHandle<typeof joinerWorkflow> = await startChild(childWorkflows[kind], {
      workflowId,
      args: [{ employeeId: state.employeeId, record }],
      staticSummary: childSummaries[kind],
      typedSearchAttributes: [
        { key: EmployeeIdKey, value: state.employeeId },
        { key: LifecycleStageKey, value: kind },
        { key: OrgUnitKey, value: record.orgUnit },
      ],
    });
    let outcome: { result?: ProvisionResult; error?: unknown } | undefined;
    child.result().then(
      (result) => (outcome = { result }),
      (error: unknown) => (outcome = { error }),
    );
    while (!outcome) {
      await condition(() => outcome !== undefined || state.version > handled);
      if (!outcome && state.version > handled) {
        handled = state.version;
        try {
          await child.signal(recordChangedSignal, state.record!);
        } catch {
          handled--; // the child finished meanwhile: the next pass starts a run for this record
        }
      }
    }
    ref.endedAt = new Date().toISOString();
    if (outcome.result) {
      const result = outcome.result;
      ref.outcome = 'completed';
      if (result.deleted || result.phase === 'deleted') delete state.account;
      else if (result.account) state.account = result.account;
      state.phase = result.phase;
      state.schedule = result.schedule;
      if (result.cloud) state.cloud = result.cloud;
      delete state.lastError;
      delete state.failedDueAt;
      setStage(stageAfter(result.phase, !!state.account));
      note(`${kind} completed`, `${result.applied.length} steps`);
    } else {
      ref.outcome = 'failed';
      const failure = describeFailure(outcome.error);
      state.lastError = { ...failure, at: ref.endedAt };
      if (dueIso) state.failedDueAt = dueIso;
      setStage('failed');
      note(`${kind} failed`, failure.type);
      log.warn('run failed', { workflowId, type: failure.type });
    }
  }
}

/**
 * State carried from before the education source held one HR record and one fingerprint: it
 * becomes the HR entry of `records`, so the next education row merges with it.
 */
export function carryForward(state: PersonState): void {
  if (state.records || !state.record) return;
  state.records = { hr: state.record };
  state.fingerprints = state.fingerprint ? { hr: state.fingerprint } : {};
}

const childWorkflows = {
  joiner: joinerWorkflow,
  mover: moverWorkflow,
  rehire: rehireWorkflow,
  leaver: leaverWorkflow,
  delete: deleteWorkflow,
} satisfies Record<RunKind, typeof joinerWorkflow>;

const childSummaries: Record<RunKind, string> = {
  joiner: 'new person: create and enable the account',
  mover: 'changed record: re-plan and apply the difference',
  rehire: 'returning person: the same account back with the new role',
  leaver: 'last working day over: disable, remove access, reclaim licences',
  delete: 'retention over: delete the account and the cloud user',
};

const runningStage: Record<RunKind, LifecycleStage> = {
  joiner: 'joining',
  mover: 'updating',
  rehire: 'updating',
  leaver: 'leaving',
  delete: 'deleting',
};

function stageAfter(phase: Phase, hasAccount: boolean): LifecycleStage {
  if (phase === 'left') return 'left';
  if (phase === 'deleted') return 'deleted';
  return hasAccount ? 'active' : 'received';
}

/**
 * Which run a new record starts: joiner without an account; leaver when HR enters an end date
 * that has already passed (terminations are often entered late); rehire when a leaver's new
 * record makes them current again; otherwise mover.
 */
export function kindForRecord(state: PersonState): RunKind {
  if (!state.account) return 'joiner';
  const record = state.record!;
  const today = helsinkiDate(new Date());
  const ended = record.endDate !== undefined && record.endDate < today;
  const gone = state.phase === 'left' || state.phase === 'deleted';
  if (ended && !gone) return 'leaver';
  if (!ended && state.phase === 'left') return 'rehire';
  return 'mover';
}

/** The next dated run from the last completed run's schedule, unless that run already failed. */
export function nextDue(
  state: PersonState,
): { kind: RunKind; at: number; iso: string; what: string } | undefined {
  const s = state.schedule;
  if (!s) return undefined;
  const pick = (kind: RunKind, iso: string | undefined, what: string) =>
    iso && iso !== state.failedDueAt ? { kind, at: Date.parse(iso), iso, what } : undefined;
  if (state.phase === 'prehire' || state.phase === 'active') {
    return pick('leaver', s.endAt, `waiting for the last working day to end (${s.endAt?.slice(0, 10)})`);
  }
  if (state.phase === 'left') {
    return pick(
      'delete',
      s.deleteAt,
      `retention: waiting to delete the account on ${s.deleteAt?.slice(0, 10)}`,
    );
  }
  return undefined;
}

function describeFailure(err: unknown): { type: string; message: string } {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  const app = findApplicationFailure(cause);
  if (app) return { type: app.type ?? 'ApplicationFailure', message: app.message };
  return { type: 'Unknown', message: err instanceof Error ? err.message : String(err) };
}

function findApplicationFailure(err: unknown): ApplicationFailure | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof ApplicationFailure) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

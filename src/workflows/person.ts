import {
  ChildWorkflowFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { recordFingerprint } from '../domain/fingerprint';
import type { ProvisionResult } from './converge';
import { joinerWorkflow } from './joiner';
import {
  recordChangedSignal,
  recordSignal,
  stateQuery,
  submitRecordUpdate,
  EmployeeIdKey,
  LifecycleStageKey,
  OrgUnitKey,
  type LifecycleStage,
  type PersonState,
  type RecordDelivery,
  type RunRef,
  type SubmitResult,
} from './messages';
import { moverWorkflow } from './mover';
import { MAX_HISTORY_EVENTS, MAX_RUNS, MAX_TIMELINE } from './options';

// The entity workflow: one per person (`person-{employeeId}`). It serialises every event for the
// person, drops duplicates, runs one joiner/mover child at a time and forwards newer records to
// it, and keeps a short timeline that the `state` query (and `tunnus person show`) exposes.

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
    const fingerprint = recordFingerprint(delivery.record);
    if (fingerprint === state.fingerprint) {
      state.duplicatesIgnored++;
      return { accepted: false, reason: 'duplicate' };
    }
    const reason = state.record ? 'changed' : 'new';
    state.fingerprint = fingerprint;
    state.record = delivery.record;
    state.source = delivery.source;
    state.version++;
    note(reason === 'new' ? 'record received' : 'record changed', `from ${delivery.source}`);
    return { accepted: true, reason };
  };
  setHandler(recordSignal, (delivery) => void accept(delivery));
  setHandler(submitRecordUpdate, accept);

  const continueAsNewDue = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS;

  for (;;) {
    await condition(() => state.version > handled || continueAsNewDue());
    if (state.version === handled) {
      // Idle and the history is long: start afresh with the state carried over.
      await condition(allHandlersFinished);
      if (state.version === handled) {
        return continueAsNew<typeof personWorkflow>({ employeeId: state.employeeId, state });
      }
      continue;
    }
    handled = state.version;
    const record = state.record!;
    const kind: RunRef['kind'] = state.account ? 'mover' : 'joiner';
    const workflowId = `${kind}-${state.employeeId}-${++state.runSeq}`;
    const run: RunRef = { workflowId, kind, startedAt: new Date().toISOString() };
    state.runs.push(run);
    if (state.runs.length > MAX_RUNS) state.runs.shift();
    setStage(kind === 'joiner' ? 'joining' : 'updating');
    note(`${kind} started`, workflowId);

    const child: ChildWorkflowHandle<typeof joinerWorkflow> = await startChild(
      kind === 'joiner' ? joinerWorkflow : moverWorkflow,
      {
        workflowId,
        args: [{ employeeId: state.employeeId, record }],
        staticSummary:
          kind === 'joiner' ? 'new person: create and enable the account' : 'changed record: re-plan',
        typedSearchAttributes: [
          { key: EmployeeIdKey, value: state.employeeId },
          { key: LifecycleStageKey, value: kind },
          { key: OrgUnitKey, value: record.orgUnit },
        ],
      },
    );
    let outcome: { result?: ProvisionResult; error?: unknown } | undefined;
    child.result().then(
      (result) => (outcome = { result }),
      (error: unknown) => (outcome = { error }),
    );
    // Forward newer records to the running child; it re-plans with them.
    while (!outcome) {
      await condition(() => outcome !== undefined || state.version > handled);
      if (!outcome && state.version > handled) {
        handled = state.version;
        try {
          await child.signal(recordChangedSignal, state.record!);
        } catch {
          handled--; // the child finished meanwhile: the next loop starts a run for this record
        }
      }
    }
    run.endedAt = new Date().toISOString();
    if (outcome.result) {
      run.outcome = 'completed';
      if (outcome.result.account) state.account = outcome.result.account;
      delete state.lastError;
      setStage(state.account ? 'active' : 'received');
      note(`${kind} completed`, `${outcome.result.applied.length} steps`);
    } else {
      run.outcome = 'failed';
      const failure = describeFailure(outcome.error);
      state.lastError = { ...failure, at: run.endedAt };
      setStage('failed');
      note(`${kind} failed`, failure.type);
      log.warn('run failed', { workflowId, type: failure.type });
    }
  }
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

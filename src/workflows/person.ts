import {
  ParentClosePolicy,
  TemporalFailure,
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import {
  accept,
  confirmEndDate,
  describeWait,
  dueEndToGuard,
  hasNewRecord,
  initialState,
  nextDue,
  nextRun,
  onRunFailed,
  onRunFinished,
  onDueEndGuarded,
  onRunStarted,
  releaseGuardHold,
  requestReplan,
  runFacts,
  upgrade,
  type PersonState,
  type RunFacts,
  type RunKind,
  type RunRef,
} from '../domain/person-state';
import { liftProblem, liftTermination, retryRun, terminate, terminateProblem } from '../domain/termination';
import { shredDue, shredWorkflowId } from '../domain/crypto-shred';
import type { GuardActivities } from '../activities/guard';
import type { ReadModelActivities } from '../activities/read-model';
import { identityRow, rowContent } from '../domain/identity-row';
import type { NoticeRequest } from '../domain/notice-events';
import { beforeRun, notePending, noteSent, noticesAfterRun, takeDueNotices } from '../domain/person-notices';
import type { IdentityRecord } from '../domain/identity';
import type { HrRecord } from '../domain/record';
import {
  convergeInPerson,
  describeFailure,
  type PassOutcome,
  type ProvisionInput,
  type ProvisionResult,
} from './converge';
import { joinerWorkflow } from './joiner';
import { deleteWorkflow, leaverWorkflow, rehireWorkflow } from './lifecycle';
import {
  confirmEndDateUpdate,
  guardReleasedSignal,
  liftTerminationUpdate,
  recordChangedSignal,
  retryRunUpdate,
  terminateUpdate,
  recordSignal,
  replanSignal,
  stateQuery,
  submitRecordUpdate,
  EmployeeIdKey,
  LifecycleStageKey,
  OrgUnitKey,
} from './messages';
import { moverWorkflow } from './mover';
import { shredWorkflow } from './shred';
import { sendNotice } from './notices';
import { releasePatches } from './release';
import {
  MAX_HISTORY_EVENTS,
  MAX_PERSON_PASSES,
  MAX_TIMER_MS,
  PERSON_WORKFLOW_TASK_TIMEOUT,
  RUN_WORKFLOW_TASK_TIMEOUT,
} from './options';

// The entity workflow: one per person (`person-{employeeId}`). It serialises every event for the
// person and runs one child at a time; every decision (de-duplication, which run, what is due,
// what a finished run means) is in the pure src/domain/person-state.ts. What is left here:
// handlers, the wait loop, the children, and continue-as-new.

export { initialState } from '../domain/person-state';

const { admitDueEnd } = proxyActivities<GuardActivities>({
  // One ledger transaction in the record store.
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
// Bounded: a read model that cannot be written never holds the person's lifecycle up (the next
// change writes again; `tunnus index rebuild` repairs what was missed).
const readModelRetry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumAttempts: 3,
};
const { recordIdentity } = proxyActivities<ReadModelActivities>({
  startToCloseTimeout: '10 seconds',
  retry: readModelRetry,
});
// From `read-model-local` on: one row write is one store upsert, so it runs inside the person's
// workflow task (one marker event, with its summary) instead of a task queue round trip.
const { recordIdentity: recordIdentityHere } = proxyLocalActivities<ReadModelActivities>({
  startToCloseTimeout: '10 seconds',
  retry: readModelRetry,
});

export interface PersonInput {
  employeeId: string;
  /** Carried across continue-as-new. */
  state?: PersonState;
}

export async function personWorkflow(input: PersonInput): Promise<void> {
  const state = upgrade(input.state ?? initialState(input.employeeId));
  // First, before any command: one marker for the release's patches (./release.ts).
  const isPatched = releasePatches('personWorkflow');
  // Decided once per run: runs on earlier code pick notices up on their next continue-as-new.
  const notices = isPatched('notices');
  // Decided once per run: runs on earlier code write their row from their next continue-as-new.
  const readModel = isPatched('read-model');
  // Decided once per run: the row written by a local activity, and runs started with a short
  // workflow task timeout (their local steps resume on another worker soon after a crash).
  const localRow = readModel && isPatched('read-model-local');
  setHandler(stateQuery, () => state);
  setHandler(recordSignal, (delivery) => void accept(state, delivery, Date.now()));
  setHandler(submitRecordUpdate, (delivery) => accept(state, delivery, Date.now()));
  setHandler(replanSignal, ({ reason }) => void requestReplan(state, reason, Date.now()));
  setHandler(confirmEndDateUpdate, (confirmation) => confirmEndDate(state, confirmation, Date.now()));
  setHandler(guardReleasedSignal, (release) => void releaseGuardHold(state, release, Date.now()));
  // Operator actions (src/domain/termination.ts). A refused request leaves no trace in history;
  // an accepted one marks it (ops-terminate) and wakes the loop (a retry moves a due time, which
  // the wait below would not see by itself).
  let nudges = 0;
  const opsAction =
    <Q, R>(action: (s: PersonState, request: Q, now: number) => R) =>
    (request: Q): R => {
      isPatched('ops-terminate');
      nudges++;
      return action(state, request, Date.now());
    };
  setHandler(terminateUpdate, opsAction(terminate), { validator: rejectIf(terminateProblem) });
  setHandler(liftTerminationUpdate, opsAction(liftTermination), { validator: rejectIf(liftProblem) });
  setHandler(retryRunUpdate, opsAction(retryRun), { validator: rejectIf(liftProblem) });
  function rejectIf<Q>(problem: (s: PersonState, request: Q) => string | undefined) {
    return (request: Q): void => {
      const why = problem(state, request);
      if (why) throw new Error(why);
    };
  }

  let stageShown = state.stage;
  const showStage = () => {
    if (state.stage === stageShown) return;
    stageShown = state.stage;
    upsertSearchAttributes([{ key: LifecycleStageKey, value: state.stage }]);
  };
  let passes = 0;
  /**
   * The identity read model's row (src/domain/identity-row.ts), written when the state it shows
   * changed: after a run starts, a record reaches a running child, and before waiting or
   * continuing as new — so one write per pass, never one per signal. Its version counts up in the
   * state (carried across continue-as-new), so the rows land in the order of the state.
   */
  let rowWritten: string | undefined;
  async function writeRow(): Promise<void> {
    if (!readModel) return;
    const content = JSON.stringify(rowContent(state));
    if (content === rowWritten) return;
    const stamp = (state.row = {
      chain: state.row?.chain ?? workflowInfo().startTime.toISOString(),
      version: (state.row?.version ?? 0) + 1,
      at: new Date(Date.now()).toISOString(),
    });
    try {
      await (localRow ? recordIdentityHere : recordIdentity).executeWithOptions(
        { summary: `read model row v${stamp.version}` },
        [identityRow(state, stamp)],
      );
      rowWritten = content;
    } catch {
      log.warn('alert: identity read model row not written', { version: stamp.version });
    }
  }
  const continueAsNewDue = () =>
    passes >= MAX_PERSON_PASSES ||
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength > MAX_HISTORY_EVENTS;

  /**
   * Hands notices to the channel without waiting for them (mail never holds up an end of access);
   * each is carried in the state until confirmed, and sent again (same key) after continue-as-new.
   */
  const notify = (requests: NoticeRequest[], again = false) => {
    for (const req of requests) {
      if (!notePending(state, req) && !again) continue;
      void sendNotice(req).then((sent) => sent && noteSent(state, req.key));
    }
  };
  if (notices) notify(state.notices?.pending ?? [], true);

  for (; ; passes++) {
    const kind = nextRun(state, Date.now());
    if (kind) {
      // An end falling due that the guard has not counted: ask it first (held over the threshold).
      const endDate = kind === 'leaver' ? dueEndToGuard(state, Date.now()) : undefined;
      if (endDate && isPatched('guard-due-ends')) await guardDueEnd(endDate);
      else await run(kind);
      // Retention delete done: the person hands over to crypto-shredding and closes (shred.ts).
      if (kind === 'delete' && shredDue(state) && isPatched('crypto-shred')) {
        if (await handOverToShred()) return;
      }
      continue;
    }
    if (continueAsNewDue()) {
      // Idle and the history is long: start afresh with the state carried over.
      await condition(allHandlersFinished);
      if (!nextRun(state, Date.now())) {
        await writeRow();
        // The next run gets the short task timeout even if this one was started before it was set.
        return makeContinueAsNewFunc<typeof personWorkflow>({
          workflowTaskTimeout: PERSON_WORKFLOW_TASK_TIMEOUT,
        })({ employeeId: state.employeeId, state });
      }
      continue;
    }
    // Idle: wait for a record, the next dated run (last working day, end of retention, a retry of
    // a stuck end of access), or a long history. Re-armed on every pass from the state, so a moved
    // end date moves the timer and a removed one cancels it.
    if (notices) notify(takeDueNotices(state, Date.now()));
    const due = notices ? nextDue(state, { reminders: true }) : nextDue(state);
    // Current details say what the person waits for or why it is stuck (they survive
    // continue-as-new, where the static summary does not).
    setCurrentDetails(describeWait(state, due, Date.now()));
    await writeRow();
    const hold = state.hold;
    const nudged = nudges;
    const ready = () =>
      hasNewRecord(state) ||
      continueAsNewDue() ||
      (due !== undefined && Date.now() >= due.at) ||
      state.hold !== hold ||
      nudges !== nudged;
    if (due) {
      const ms = Math.min(Math.max(due.at - Date.now(), 1), MAX_TIMER_MS);
      await condition(ready, ms, { summary: due.what });
    } else {
      await condition(ready);
    }
  }

  /**
   * Starts shred-{id} (abandoned: it outlives this run) and says whether to close now. The shred
   * waits until this run has closed, then forgets the index entries and destroys the data key;
   * it carries only ids, so it stays readable after the destroy. A record that arrived meanwhile
   * keeps the person going (the shred then finds the run continued, not completed, and stops).
   */
  async function handOverToShred(): Promise<boolean> {
    setCurrentDetails('deleted: crypto-shredding starts once this run has closed');
    const info = workflowInfo();
    await startChild(shredWorkflow, {
      workflowId: shredWorkflowId(state.employeeId),
      args: [{ subjectId: state.employeeId, personWorkflowId: info.workflowId, personRunId: info.runId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: 'crypto-shredding: forget the index entries, destroy the data key',
      typedSearchAttributes: [{ key: EmployeeIdKey, value: state.employeeId }],
    });
    await condition(allHandlersFinished);
    return !hasNewRecord(state);
  }

  /** Asks the mass-change guard about an end falling due; over the threshold the person is held. */
  async function guardDueEnd(endDate: string): Promise<void> {
    setCurrentDetails(`end of ${endDate} due: asking the mass-change guard`);
    const { hr, education } = state.records ?? {};
    const admission = await admitDueEnd({
      identityId: state.employeeId,
      endDate,
      record: state.record!,
      source: hr || !education ? 'hr' : 'education',
      // State from before `records` is upgraded with the HR record in it: never neither.
      sourceRecord: hr ?? education ?? (state.record as HrRecord),
    });
    onDueEndGuarded(state, endDate, admission, Date.now());
    showStage();
    if (state.hold)
      log.warn('alert: end of access held by the mass-change guard', { endDate, reason: state.hold.reason });
  }

  /**
   * Runs one run to completion, forwarding newer records to it (it re-plans with them). A joiner
   * first tries its pass here (`joiner-here`, src/domain/run-in-person.ts); what has to wait goes
   * on in the child, started with what the pass carried.
   */
  async function run(kind: RunKind): Promise<void> {
    const ref = onRunStarted(state, kind, Date.now());
    showStage();
    await writeRow();
    setCurrentDetails(`running ${ref.workflowId}`);
    const record = state.record!;
    const startFacts = runFacts(state);
    let input: ProvisionInput & { facts: RunFacts } = {
      employeeId: state.employeeId,
      record,
      facts: startFacts,
    };
    if (kind === 'joiner' && isPatched('joiner-here')) {
      const pass = await passHere(kind, input);
      if (!('child' in pass)) return afterRun(ref, pass, true);
      input = pass.child;
    }
    const child = await startChild(childWorkflows[kind], {
      workflowId: ref.workflowId,
      args: [input],
      staticSummary: childSummaries[kind],
      ...(localRow ? { workflowTaskTimeout: RUN_WORKFLOW_TASK_TIMEOUT } : {}),
      typedSearchAttributes: [
        { key: EmployeeIdKey, value: state.employeeId },
        { key: LifecycleStageKey, value: kind },
        { key: OrgUnitKey, value: record.orgUnit },
      ],
    });
    let outcome: { result: ProvisionResult } | { error: unknown } | undefined;
    child.result().then(
      (result) => (outcome = { result }),
      (error: unknown) => (outcome = { error }),
    );
    // What the child was started with: a record or termination accepted while the child was being
    // started is signalled to it too (it would otherwise wait out a dated change first).
    await forwardWhileRunning(
      () => outcome !== undefined,
      isPatched('ops-terminate') ? input.facts.version : state.version,
      async () => {
        try {
          await child.signal(recordChangedSignal, state.record!, runFacts(state));
        } catch {
          // The child finished meanwhile: its result names the version it applied, and the loop
          // runs again for anything newer.
        }
      },
    );
    afterRun(ref, outcome!);
  }

  /**
   * Until the run is done, hands it each record version newer than `since` (a child by signal, a
   * pass in the person by its follow callback), then writes the row that shows it.
   */
  async function forwardWhileRunning(
    done: () => boolean,
    since: number,
    forward: () => Promise<void> | void,
  ): Promise<void> {
    let handed = since;
    while (!done()) {
      await condition(() => done() || state.version > handed);
      if (!done() && state.version > handed) {
        handed = state.version;
        await forward();
        await writeRow();
      }
    }
  }

  /** The pass in the person, fed each newer record as a child would be signalled it. */
  async function passHere(kind: RunKind, input: ProvisionInput & { facts: RunFacts }) {
    let follow: ((record: IdentityRecord, facts: RunFacts) => void) | undefined;
    let pass: PassOutcome | { error: unknown } | undefined;
    convergeInPerson(input, { kind, follow: (update) => (follow = update) }).then(
      (outcome) => (pass = outcome),
      (error: unknown) => (pass = { error }),
    );
    await forwardWhileRunning(
      () => pass !== undefined,
      input.facts.version,
      () => follow?.(state.record!, runFacts(state)),
    );
    const ended = pass!;
    // A bug in workflow code fails the workflow task (retried, visible), as it would in a child;
    // only a step's or the run's own failure is the run's outcome.
    if ('error' in ended && !(ended.error instanceof TemporalFailure)) throw ended.error;
    return ended;
  }

  /** What a finished run means for the person: its state, notices and alerts. */
  function afterRun(
    ref: RunRef,
    outcome: { result: ProvisionResult } | { error: unknown },
    inPerson = false,
  ): void {
    if (inPerson) {
      ref.ranIn = workflowInfo().workflowId;
      if ('result' in outcome) {
        ref.applied = outcome.result.applied;
        if (outcome.result.handover) ref.handover = outcome.result.handover.status;
      }
    }
    const before = beforeRun(state);
    if ('result' in outcome) {
      onRunFinished(state, ref, outcome.result, Date.now());
    } else {
      onRunFailed(state, ref, describeFailure(outcome.error), Date.now());
    }
    if (notices) notify(noticesAfterRun(state, ref, before));
    showStage();
    if (state.hold)
      log.warn('alert: person held for an operator', { workflowId: ref.workflowId, hold: state.hold.kind });
    if (state.retry) {
      log.error('alert: end of access not complete, retrying', {
        workflowId: ref.workflowId,
        kind: state.retry.kind,
        attempt: state.retry.attempt,
        type: state.lastError?.type,
      });
    }
  }
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
  leaver: 'last working day over: disable first, then remove access, reclaim licences',
  delete: 'retention over: delete the account and the cloud user',
};

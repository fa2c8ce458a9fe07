import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { GuardActivities } from '../activities/guard';
import type { SourceRecord } from '../domain/identity';
import { guardVerdict, type Loss } from '../domain/mass-change';
import { massChangeHeldNotice } from '../domain/notice-events';
import type { Policy } from '../domain/policy';
import { awaitApproval, describeWaiting, type ApprovalReceipt, type ApprovalRequest } from './approval';
import type { Source } from './messages';
import { sendNotice } from './notices';

// The held set (`mass-change-hold`): single deliveries (PUT /persons, `tunnus hire`, `plan apply`)
// that the mass-change guard stopped wait here, visibly (Web UI current details, the
// `heldChanges` query, GET /api/v1/mass-change), for one operator's approval of the set as it
// stands. A later record for a held person replaces the held one (HR's newest word wins, in
// order); a correction that takes no access away releases the person (src/ops/intake.ts drops
// it). Approved changes are delivered by `releaseHeldChanges`; what arrived after the approval
// waits for the next one.

export const HOLD_WORKFLOW_ID = 'mass-change-hold';

export interface HeldChange {
  identityId: string;
  source: Source;
  /** The record as HR sent it; delivered as is when approved. */
  record: SourceRecord;
  loss: Loss;
  /** Where it came from: api:{client}, cli:{user}, plan-apply. */
  ref: string;
  /** The denominator and policy figures when it was held, for the waiting verdict. */
  activeIdentities: number;
  safety: Policy['safety'];
  /** A policy rollout's re-plan (the record as held), not a new record: released by a replan signal. */
  replan?: boolean;
  /**
   * An end date falling due (the person's timer) that the guard held: the person workflow waits in
   * stage `held` and is released by a `guardReleased` signal, not by delivering the record.
   */
  dueEnd?: string;
}

/** What the held set shows: no records, no names. */
export interface HeldSummary {
  identityId: string;
  kind: Loss['kind'];
  groups: string[];
  ref: string;
}

export const holdChangeSignal = defineSignal<[HeldChange]>('holdChange');
/** A held person's newer record takes nothing away: it goes through; the held one is dropped. */
export const dropHeldSignal = defineSignal<[{ identityId: string }]>('dropHeld');
export const heldChangesQuery = defineQuery<HeldSummary[]>('heldChanges');

export interface HoldInput {
  carried?: HeldChange[];
  approvals?: ApprovalReceipt[];
  /** The set waiting for approval when the run continued as new: since when, and whether ops were told. */
  waiting?: HeldSetNotice;
}

/** One held set's wait for approval, named by its start (the key of its one ops notice). */
interface HeldSetNotice {
  since: string;
  noticed: boolean;
}

const { releaseHeldChanges } = proxyActivities<GuardActivities>({
  startToCloseTimeout: '15 minutes',
  // One heartbeat per change released.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function massChangeHoldWorkflow(input: HoldInput = {}): Promise<void> {
  const held = new Map<string, HeldChange>((input.carried ?? []).map((c) => [c.identityId, c]));
  // Decided once per run: a run on earlier code holds its sets without the ops notice.
  const notices = patched('notices-mass-change-hold') ? { waiting: input.waiting } : undefined;
  try {
    return await holdLoop(held, input.approvals ?? [], notices);
  } catch (err) {
    // Cancelling refuses the set: nothing was changed; persons whose end fell due stay held, with
    // their access, until a newer record or another approval.
    const ends = [...held.values()].filter((c) => c.dueEnd).map((c) => c.identityId);
    if (isCancellation(err) && ends.length > 0) {
      log.warn('alert: held set cancelled; ends that fell due stay held, access kept', { identities: ends });
    }
    throw err;
  }
}

async function holdLoop(
  held: Map<string, HeldChange>,
  approvals: ApprovalReceipt[],
  notices?: { waiting?: HeldSetNotice },
): Promise<void> {
  let dirty = false;
  setHandler(holdChangeSignal, (change) => {
    held.set(change.identityId, change);
    dirty = true;
  });
  setHandler(dropHeldSignal, ({ identityId }) => {
    dirty = held.delete(identityId) || dirty;
  });
  setHandler(heldChangesQuery, () =>
    [...held.values()].map((c) => ({
      identityId: c.identityId,
      kind: c.loss.kind,
      groups: c.loss.groups,
      ref: c.ref,
    })),
  );

  for (;;) {
    await condition(() => held.size > 0 || workflowInfo().continueAsNewSuggested);
    if (held.size === 0) break;
    const request = (): ApprovalRequest => requestFor([...held.values()]);
    const approval = awaitApproval(request, () => [...held.values()]);
    if (notices) tellOps(notices, request());
    // Keep the Web UI's details in step while the set grows.
    let settled = false;
    void approval.finally(() => (settled = true));
    while (!settled) {
      await condition(() => dirty || settled || workflowInfo().continueAsNewSuggested);
      if (settled) break;
      // A long wait with many arrivals: start afresh with the set (nothing is approved yet).
      if (workflowInfo().continueAsNewSuggested) return await carryOn(held, approvals, notices?.waiting);
      describeWaiting(request());
      dirty = false;
    }
    const { receipt, subject } = await approval;
    if (notices) delete notices.waiting;
    approvals.push(receipt);
    const approved = subject ?? [];
    await releaseHeldChanges({ changes: approved, approvedBy: receipt.approvedBy, ref: receipt.workflowId });
    // Only what was approved: a newer record for the same person that arrived meanwhile waits.
    for (const c of approved) if (held.get(c.identityId) === c) held.delete(c.identityId);
    if (workflowInfo().continueAsNewSuggested) break;
  }
  return await carryOn(held, approvals);
}

/**
 * Ops are told once per held set that it waits for approval (in the background: the wait goes on
 * meanwhile). Carried across continue-as-new; an unconfirmed notice is sent again with its key.
 */
function tellOps(notices: { waiting?: HeldSetNotice }, request: ApprovalRequest): void {
  const set = (notices.waiting ??= { since: new Date().toISOString(), noticed: false });
  if (set.noticed) return;
  const v = request.verdict;
  const notice = massChangeHeldNotice(
    { since: set.since, workflowId: workflowInfo().workflowId },
    {
      pending: v.pendingIdentities,
      disables: v.disables,
      deletes: v.deletes,
      roleChanges: v.roleChanges,
      active: v.managedIdentities,
    },
  );
  void sendNotice(notice).then((sent) => {
    if (sent) set.noticed = true;
  });
}

/** History stays bounded: the set and the recent approvals travel on to a new run. */
async function carryOn(
  held: Map<string, HeldChange>,
  approvals: ApprovalReceipt[],
  waiting?: HeldSetNotice,
): Promise<void> {
  await condition(allHandlersFinished);
  await continueAsNew<typeof massChangeHoldWorkflow>({
    carried: [...held.values()],
    approvals: approvals.slice(-20),
    ...(waiting ? { waiting } : {}),
  });
}

/** The held set as a verdict: always for approval (that is why it is here). */
function requestFor(changes: HeldChange[]): ApprovalRequest {
  const last = changes[changes.length - 1]!;
  const v = guardVerdict({
    activeIdentities: last.activeIdentities,
    window: [],
    pending: changes.map((c) => c.loss),
    safety: last.safety,
  });
  const reason = `holds ${changes.length} change(s) that take access away: ${v.disables} disables, ${v.deletes} deletes, ${v.roleChanges} role changes (of ${v.managedIdentities} active identities)`;
  return {
    what: 'held set',
    verdict: { ...v, verdict: 'needsApproval', reason },
    details: [
      `From: ${[...new Set(changes.map((c) => c.ref))].join(', ')}.`,
      `Identities: ${changes
        .slice(0, 20)
        .map((c) => `${c.identityId} (${c.loss.kind})`)
        .join(', ')}${changes.length > 20 ? ', …' : ''}`,
    ],
  };
}

import {
  condition,
  defineQuery,
  defineUpdate,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { GuardVerdict } from '../domain/mass-change';

// Operator approval for changes the mass-change guard stopped (imports, the leaver cleanup, the
// held set of single deliveries): the run shows what it would do and waits durably — for days if
// need be — for the `approve` update (`tunnus approve <workflowId>`, or
// `POST /api/v1/approvals/{workflowId}`). The update names the operator (the CLI's OS user, the
// API token's client) and the exact set it approves (its hash); it is kept in history as the audit
// trail. A set that moved since the operator looked is refused: they look again. To refuse,
// cancel the workflow; nothing has been changed yet.

export type NeedsApproval = Extract<GuardVerdict, { verdict: 'needsApproval' }>;

export interface ApprovalRequest {
  /** What kind of run waits: "HR import", "leaver cleanup". */
  what: string;
  /** The guard's verdict: the counts and the set (setHash) the operator approves. */
  verdict: NeedsApproval;
  /** Optional extra lines for the operator (e.g. "2 rows rejected"). */
  details?: string[];
}

/** Who approves: `cli:{OS user}` or `api:{client name}` (src/ops/approve.ts makes it). */
export const OPERATOR = /^(cli|api):[A-Za-z0-9._@-]{1,64}$/;

export interface ApprovalInput {
  /** The operator, as `cli:{OS user}` or `api:{token's client name}`. */
  approvedBy: string;
  note?: string;
  /** The set the operator saw (the verdict's setHash): it must be what waits now. */
  expect: { setHash: string };
}

export interface ApprovalReceipt {
  workflowId: string;
  approvedBy: string;
  approvedAt: string;
  note?: string;
  /** What was approved, in words, and its counts. */
  summary: string;
  setHash: string;
  verdict: NeedsApproval;
}

export interface PendingApproval {
  what: string;
  summary: string;
  verdict: NeedsApproval;
  details: string[];
  since: string;
}

export const approveUpdate = defineUpdate<ApprovalReceipt, [ApprovalInput]>('approve');
/** What waits for approval; null once approved. Registered when the run starts waiting. */
export const pendingApprovalQuery = defineQuery<PendingApproval | null>('pendingApproval');

/** The one-line summary shown in the UI and the CLI. */
export function approvalSummary(request: ApprovalRequest): string {
  return `${request.what} ${request.verdict.reason}`;
}

/**
 * Sets the workflow's current details to what would happen and waits durably for `approve`.
 * `request` may be a function when the set grows while it waits (the held set): the operator then
 * approves the set as it stands, and `snapshot` (called inside the update) captures exactly that.
 */
export async function awaitApproval<S = undefined>(
  request: ApprovalRequest | (() => ApprovalRequest),
  snapshot?: () => S,
): Promise<{ receipt: ApprovalReceipt; subject: S | undefined }> {
  const current = typeof request === 'function' ? request : () => request;
  const since = new Date().toISOString();
  let receipt: ApprovalReceipt | undefined;
  let subject: S | undefined;
  setHandler(pendingApprovalQuery, () => {
    if (receipt) return null;
    const r = current();
    return { what: r.what, summary: approvalSummary(r), verdict: r.verdict, details: r.details ?? [], since };
  });
  setHandler(
    approveUpdate,
    (input) => {
      const r = current();
      receipt = {
        workflowId: workflowInfo().workflowId,
        approvedBy: input.approvedBy,
        approvedAt: new Date().toISOString(),
        ...(input.note ? { note: input.note } : {}),
        summary: approvalSummary(r),
        setHash: r.verdict.setHash,
        verdict: r.verdict,
      };
      subject = snapshot?.();
      return receipt;
    },
    {
      // Rejected updates leave no trace in history.
      validator: (input: ApprovalInput) => {
        if (receipt) throw new Error(`already approved by ${receipt.approvedBy} at ${receipt.approvedAt}`);
        if (typeof input?.approvedBy !== 'string' || !OPERATOR.test(input.approvedBy)) {
          throw new Error('approvedBy must name the operator as cli:{user} or api:{client}');
        }
        const r = current();
        if (input.expect?.setHash !== r.verdict.setHash) {
          throw new Error(
            `the set moved: ${approvalSummary(r)} (set ${r.verdict.setHash}); the approval was for set ` +
              `${input.expect?.setHash ?? '(none)'}: look again and approve what waits now`,
          );
        }
      },
      description: 'Approve exactly the set of changes the mass-change guard stopped',
    },
  );

  describeWaiting(current());
  await condition(() => receipt !== undefined);
  setCurrentDetails(`Approved by ${receipt!.approvedBy}: ${receipt!.summary}.`);
  return { receipt: receipt!, subject };
}

/** Re-renders the waiting details (after the held set changed). */
export function describeWaiting(request: ApprovalRequest): void {
  setCurrentDetails(
    [
      `**Waiting for approval**: ${approvalSummary(request)}.`,
      ...(request.details ?? []),
      `Set ${request.verdict.setHash}. Approve with \`tunnus approve ${workflowInfo().workflowId}\`, or cancel ` +
        'the workflow to refuse.',
    ].join('\n\n'),
  );
}

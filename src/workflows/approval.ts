import {
  condition,
  defineQuery,
  defineUpdate,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { GuardVerdict } from '../domain/mass-change';

// Operator approval for runs the mass-change guard stopped (imports, the leaver cleanup): the run
// shows what it would do and waits durably — for days if need be — for the `approve` update
// (`tunnus approve <workflowId>`). To refuse, cancel the workflow; nothing has been changed yet.

export interface ApprovalRequest {
  /** What kind of run waits: "HR import", "leaver cleanup". */
  what: string;
  /** The guard's verdict: the counts the operator approves. */
  verdict: Extract<GuardVerdict, { verdict: 'needsApproval' }>;
  /** Optional extra lines for the operator (e.g. "2 rows rejected"). */
  details?: string[];
}

export interface ApprovalInput {
  /** Who approves (operator account name), kept in history as the audit trail. */
  approvedBy: string;
  note?: string;
  /**
   * The counts the operator saw. When given they must match what waits, so an approval given
   * against an older preview cannot wave through a different change.
   */
  expect?: { disables: number; deletes: number };
}

export interface ApprovalReceipt {
  workflowId: string;
  approvedBy: string;
  approvedAt: string;
  note?: string;
  /** What was approved, in words, and its counts. */
  summary: string;
  verdict: ApprovalRequest['verdict'];
}

export interface PendingApproval {
  what: string;
  summary: string;
  verdict: ApprovalRequest['verdict'];
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
 * Returns the receipt, which the caller keeps in its result. A second approval is rejected.
 */
export async function awaitApproval(request: ApprovalRequest): Promise<ApprovalReceipt> {
  const summary = approvalSummary(request);
  let pending: PendingApproval | null = {
    what: request.what,
    summary,
    verdict: request.verdict,
    details: request.details ?? [],
    since: new Date().toISOString(),
  };
  let receipt: ApprovalReceipt | undefined;

  setHandler(pendingApprovalQuery, () => pending);
  setHandler(
    approveUpdate,
    (input) => {
      receipt = {
        workflowId: workflowInfo().workflowId,
        approvedBy: input.approvedBy,
        approvedAt: new Date().toISOString(),
        ...(input.note ? { note: input.note } : {}),
        summary,
        verdict: request.verdict,
      };
      pending = null;
      return receipt;
    },
    {
      // Rejected updates leave no trace in history.
      validator: (input: ApprovalInput) => {
        if (receipt) throw new Error(`already approved by ${receipt.approvedBy} at ${receipt.approvedAt}`);
        if (typeof input?.approvedBy !== 'string' || input.approvedBy.trim() === '') {
          throw new Error('approvedBy is required');
        }
        const e = input.expect;
        if (e && (e.disables !== request.verdict.disables || e.deletes !== request.verdict.deletes)) {
          throw new Error(
            `the run now ${request.verdict.reason}; the approval expected ${e.disables} disables and ` +
              `${e.deletes} deletes`,
          );
        }
      },
      description: 'Approve a run the mass-change guard stopped',
    },
  );

  setCurrentDetails(
    [
      `**Waiting for approval**: ${summary}.`,
      ...(request.details ?? []),
      `Approve with \`tunnus approve ${workflowInfo().workflowId}\`, or cancel the workflow to refuse.`,
    ].join('\n\n'),
  );
  await condition(() => receipt !== undefined);
  setCurrentDetails(`Approved by ${receipt!.approvedBy}: ${summary}.`);
  return receipt!;
}

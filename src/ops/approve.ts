import os from 'node:os';
import {
  QueryNotRegisteredError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import {
  approveUpdate,
  pendingApprovalQuery,
  type ApprovalReceipt,
  type PendingApproval,
} from '../workflows/approval';

// `approve`, one use-case for the CLI (`tunnus approve`) and the API (`POST /api/v1/approvals/…`):
// read what waits, approve exactly that set (its hash) in the operator's name. The operator is
// never free text: the OS user running the CLI, or the API token's client.

/** The CLI's operator: `cli:{OS user}`. */
export const cliOperator = (): string => `cli:${os.userInfo().username}`;
/** The API's operator: `api:{client name}` (the authenticated token's client). */
export const apiOperator = (clientName: string): string => `api:${clientName}`;

export type ApproveOutcome =
  | { ok: true; pending: PendingApproval; receipt: ApprovalReceipt }
  | {
      ok: false;
      reason: 'not_found' | 'not_waiting' | 'refused';
      message: string;
      pending?: PendingApproval;
    };

/** What waits for approval in the workflow; null when nothing does (or not yet). */
export async function pendingApproval(client: Client, workflowId: string): Promise<PendingApproval | null> {
  try {
    return await client.workflow.getHandle(workflowId).query(pendingApprovalQuery);
  } catch (err) {
    // The handler is registered when the run starts to wait; before that nothing can be approved.
    if (err instanceof QueryNotRegisteredError) return null;
    throw err;
  }
}

/**
 * Approves what waits in `workflowId`, bound to `setHash` when the caller showed the operator a
 * set (the API), else to the set read just now (the CLI prints it first). A set that moved is
 * refused by the workflow: the operator looks again.
 */
export async function approveRun(
  client: Client,
  workflowId: string,
  options: { operator: string; note?: string; setHash?: string },
): Promise<ApproveOutcome> {
  let pending: PendingApproval | null;
  try {
    pending = await pendingApproval(client, workflowId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      return { ok: false, reason: 'not_found', message: `no workflow ${workflowId}` };
    }
    throw err;
  }
  if (!pending)
    return { ok: false, reason: 'not_waiting', message: `${workflowId} is not waiting for approval` };
  try {
    const receipt = await client.workflow.getHandle(workflowId).executeUpdate(approveUpdate, {
      args: [
        {
          approvedBy: options.operator,
          ...(options.note ? { note: options.note } : {}),
          expect: { setHash: options.setHash ?? pending.verdict.setHash },
        },
      ],
    });
    return { ok: true, pending, receipt };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      return { ok: false, reason: 'refused', message: err.cause?.message ?? err.message, pending };
    }
    throw err;
  }
}

/** What the API's approval route needs (the Temporal implementation below; fakes in tests). */
export interface Approvals {
  approve(
    workflowId: string,
    options: { operator: string; note?: string; setHash: string },
  ): Promise<ApproveOutcome>;
}

export const createTemporalApprovals = (client: Client): Approvals => ({
  approve: (workflowId, options) => approveRun(client, workflowId, options),
});

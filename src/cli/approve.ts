import os from 'node:os';
import {
  QueryNotRegisteredError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { approveUpdate, pendingApprovalQuery, type PendingApproval } from '../workflows/approval';
import type { CliContext } from './context';
import { CliError } from './errors';
import { ExitCode } from './exit-codes';
import { withTemporal } from './temporal';

// `tunnus approve <workflowId> [--by <name>] [--note <text>]`: approves a run (an import, the leaver
// cleanup) that the mass-change guard stopped. It reads what waits, prints it, and approves exactly
// that set: if what waits has changed since, the approval is refused.

export async function approve(
  ctx: CliContext,
  workflowId: string,
  options: { by?: string; note?: string },
): Promise<ExitCode> {
  // The workflow records who approved as `cli:{name}` (src/workflows/approval.ts OPERATOR).
  const approvedBy = `cli:${options.by ?? os.userInfo().username}`;
  return withTemporal(ctx.env, async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    let pending: PendingApproval | null;
    try {
      pending = await handle.query(pendingApprovalQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new CliError('not_found', `no workflow ${workflowId}`);
      // The handler is registered when the run starts to wait; before that nothing can be approved.
      if (err instanceof QueryNotRegisteredError) pending = null;
      else throw err;
    }
    if (!pending) throw new CliError('refused', `${workflowId} is not waiting for approval`);
    ctx.print(`${workflowId}: ${pending.summary}`);
    for (const d of pending.details) ctx.print(`  ${d}`);
    try {
      const receipt = await handle.executeUpdate(approveUpdate, {
        args: [
          {
            approvedBy,
            ...(options.note ? { note: options.note } : {}),
            expect: { setHash: pending.verdict.setHash },
          },
        ],
      });
      ctx.print(`approved by ${receipt.approvedBy} at ${receipt.approvedAt}: ${receipt.summary}`);
      return ExitCode.Ok;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new CliError('refused', `not approved: ${err.cause?.message ?? err.message}`);
      }
      throw err;
    }
  });
}

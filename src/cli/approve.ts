import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  QueryNotRegisteredError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { connectClient } from '../client';
import { parseEnv } from '../config';
import { approveUpdate, pendingApprovalQuery, type PendingApproval } from '../workflows/approval';

// `tunnus approve <workflowId> [--by <name>] [--note <text>]`: approves a run (an import, the leaver
// cleanup) that the mass-change guard stopped. It reads what waits, prints it, and approves exactly
// those counts: if the run now shows different numbers the approval is refused.

export const APPROVE_USAGE = 'usage: tunnus approve <workflowId> [--by <name>] [--note <text>]';

export async function approveCommand(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const print = (s: string) => out.write(`${s}\n`);
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { by: { type: 'string' }, note: { type: 'string' } },
  });
  const workflowId = positionals[0];
  if (!workflowId || positionals.length > 1) {
    print(APPROVE_USAGE);
    return 2;
  }
  const approvedBy = values.by ?? os.userInfo().username;
  const client = await connectClient(parseEnv(env));
  try {
    const handle = client.workflow.getHandle(workflowId);
    let pending: PendingApproval | null;
    try {
      pending = await handle.query(pendingApprovalQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        print(`no workflow ${workflowId}`);
        return 1;
      }
      // The handler is registered when the run starts to wait; before that nothing can be approved.
      if (err instanceof QueryNotRegisteredError) pending = null;
      else throw err;
    }
    if (!pending) {
      print(`${workflowId} is not waiting for approval`);
      return 1;
    }
    print(`${workflowId}: ${pending.summary}`);
    for (const d of pending.details) print(`  ${d}`);
    try {
      const receipt = await handle.executeUpdate(approveUpdate, {
        args: [
          {
            approvedBy,
            ...(values.note ? { note: values.note } : {}),
            expect: { disables: pending.verdict.disables, deletes: pending.verdict.deletes },
          },
        ],
      });
      print(`approved by ${receipt.approvedBy} at ${receipt.approvedAt}: ${receipt.summary}`);
      return 0;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        print(`not approved: ${err.cause?.message ?? err.message}`);
        return 1;
      }
      throw err;
    }
  } finally {
    await client.connection.close();
  }
}

import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { quoted } from '../ops/visibility';

// Activities that read Temporal itself (visibility), for workflows that need the outcome of
// earlier runs: the periodic telephony sync resumes from the cursor its last run ended at.

export const createRunActivities = (client: Client) => ({
  /** The cursor the last completed phone sync ended at, or undefined for the first run. */
  async lastPhoneSyncCursor(): Promise<string | undefined> {
    let latest: { closeTime: number; workflowId: string; runId: string } | undefined;
    const runs = client.workflow.list({
      // Runs of this deployment only (its task queue), newest first as visibility returns them.
      query: `WorkflowType = 'phoneSyncWorkflow' AND ExecutionStatus = 'Completed' AND TaskQueue = ${quoted(Context.current().info.taskQueue)}`,
      pageSize: 20,
    });
    let seen = 0;
    for await (const run of runs) {
      const closeTime = run.closeTime?.getTime() ?? 0;
      if (!latest || closeTime > latest.closeTime)
        latest = { closeTime, workflowId: run.workflowId, runId: run.runId };
      if (++seen >= 20) break;
    }
    if (!latest) return undefined;
    const result = (await client.workflow.getHandle(latest.workflowId, latest.runId).result()) as {
      cursor?: string;
    };
    return result.cursor;
  },
});

export type RunActivities = ReturnType<typeof createRunActivities>;

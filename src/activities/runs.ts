import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { lastCompletedResult } from '../ops/runs';

// Activities that read Temporal itself (visibility), for workflows that need the outcome of
// earlier runs: the periodic telephony sync resumes from the cursor its last run ended at.

export const createRunActivities = (client: Client) => ({
  /** The cursor the last completed phone sync ended at, or undefined for the first run. */
  async lastPhoneSyncCursor(): Promise<string | undefined> {
    // Runs of this deployment only (its task queue).
    const result = await lastCompletedResult<{ cursor?: string }>(
      client,
      'phoneSyncWorkflow',
      Context.current().info.taskQueue,
    );
    return result?.cursor;
  },
});

export type RunActivities = ReturnType<typeof createRunActivities>;

import { QueryNotRegisteredError, type Client } from '@temporalio/client';
import type { CleanupReport } from '../domain/cleanup-report';
import { pendingApprovalQuery } from '../workflows/approval';
import type { cleanupWorkflow } from '../workflows/cleanup';
import { lastCompletedResult } from './runs';
import { CLEANUP_SCHEDULE } from './schedules';

// The leaver cleanup from outside (`tunnus cleanup run|report`, tests, the bench): start a run,
// follow it to its report or its wait for approval, read the last completed report.

/**
 * Without a mode the schedule is triggered (the run is the scheduled one, with its id and
 * overlap rule); with a mode the workflow starts directly, as a manual run.
 */
export async function startCleanup(
  client: Client,
  taskQueue: string,
  mode?: 'report' | 'enforce',
): Promise<string> {
  if (mode) {
    const workflowId = `leaver-cleanup-manual-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await client.workflow.start<typeof cleanupWorkflow>('cleanupWorkflow', {
      workflowId,
      taskQueue,
      args: [{ mode }],
      staticSummary: `leaver cleanup, ${mode} (started by hand)`,
    });
    return workflowId;
  }
  const schedule = client.schedule.getHandle(CLEANUP_SCHEDULE);
  const previous = (await schedule.describe()).info.recentActions;
  const before = previous.length;
  const beforeLast = previous.at(-1)?.action.workflow.workflowId;
  await schedule.trigger();
  for (let i = 0; i < 100; i++) {
    const actions = (await schedule.describe()).info.recentActions;
    const last = actions.at(-1)?.action.workflow.workflowId;
    if (last && (actions.length > before || last !== beforeLast)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ${CLEANUP_SCHEDULE} schedule did not start a run (is the worker running?)`);
}

/** The report, or what the run waits for when the mass-change guard stopped it. */
export async function waitForCleanup(
  client: Client,
  workflowId: string,
): Promise<{ report: CleanupReport } | { waiting: string }> {
  const handle = client.workflow.getHandle<typeof cleanupWorkflow>(workflowId);
  let report: CleanupReport | undefined;
  let failure: Error | undefined;
  const result = handle.result().then(
    (r) => (report = r),
    (err: unknown) => (failure = err instanceof Error ? err : new Error('cleanup run failed')),
  );
  for (;;) {
    await Promise.race([result, new Promise((r) => setTimeout(r, 1_000))]);
    if (failure) throw failure;
    if (report) return { report };
    try {
      const pending = await handle.query(pendingApprovalQuery);
      if (pending) return { waiting: pending.summary };
    } catch (err) {
      if (!(err instanceof QueryNotRegisteredError)) throw err;
    }
  }
}

/** The newest completed cleanup of this deployment (its task queue). */
export async function lastCleanupReport(
  client: Client,
  taskQueue: string,
): Promise<CleanupReport | undefined> {
  return lastCompletedResult<CleanupReport>(client, 'cleanupWorkflow', taskQueue);
}

import { QueryNotRegisteredError, type Client } from '@temporalio/client';
import type { CleanupReport } from '../domain/cleanup-report';
import { pendingApprovalQuery } from '../workflows/approval';
import type { cleanupWorkflow } from '../workflows/cleanup';
import { withDeadline } from './connect';
import { lastCompletedResult } from './runs';
import { CLEANUP_SCHEDULE } from './schedules';
import { isUnavailable } from './unavailable';

// The leaver cleanup from outside (`tunnus cleanup run|report`, tests, the bench): start a run,
// follow it to its report or its wait for approval, read the last completed report.

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

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

export interface CleanupWaitOptions {
  /** Stop waiting after this long (the run carries on); default: as long as the run goes. */
  timeoutMs?: number;
  /** How often to ask the run whether it waits for approval. */
  pollMs?: number;
  /** Deadline of one such question (a worker answers it: a busy one may not in time). */
  queryTimeoutMs?: number;
  /** Each time Temporal or the worker did not answer in time (the wait goes on): what happened. */
  onUnanswered?: (why: string) => void;
}

/**
 * The report, what the run waits for when the mass-change guard stopped it, or, at the wait's
 * deadline, that it is still running. A question Temporal or the worker does not answer in time
 * (a deadline, the server unavailable or overloaded) is not the run's failure: the wait goes on;
 * the run's own failure, or any other error, is thrown.
 */
export async function waitForCleanup(
  client: Client,
  workflowId: string,
  options: CleanupWaitOptions = {},
): Promise<{ report: CleanupReport } | { waiting: string } | { running: string }> {
  const { timeoutMs = Infinity, pollMs = 1_000, queryTimeoutMs = 10_000, onUnanswered } = options;
  const deadline = Date.now() + timeoutMs;
  const handle = client.workflow.getHandle<typeof cleanupWorkflow>(workflowId);
  let ended: { report: CleanupReport } | { error: unknown } | undefined;
  const follow = () =>
    handle.result().then(
      (report) => (ended = { report }),
      (error: unknown) => (ended = { error }),
    );
  let result = follow();
  let unanswered: string | undefined;
  const notAnswered = (err: unknown) => {
    unanswered = grpcReason(err);
    onUnanswered?.(unanswered);
  };
  for (;;) {
    await Promise.race([result, sleep(Math.min(pollMs, deadline - Date.now()))]);
    if (ended && 'error' in ended) {
      if (!isUnavailable(ended.error)) {
        throw ended.error instanceof Error ? ended.error : new Error('cleanup run failed');
      }
      // Following the result timed out: follow it again after a pause (no busy loop when down).
      notAnswered(ended.error);
      ended = undefined;
      result = sleep(pollMs).then(follow);
    }
    if (ended) return ended;
    if (Date.now() >= deadline) {
      const seconds = Math.round(timeoutMs / 1000);
      return {
        running:
          `still running after ${seconds} s` +
          (unanswered ? ` (last question unanswered: ${unanswered})` : ''),
      };
    }
    try {
      const pending = await withDeadline(client, queryTimeoutMs, () => handle.query(pendingApprovalQuery));
      if (pending) return { waiting: pending.summary };
      unanswered = undefined;
    } catch (err) {
      if (err instanceof QueryNotRegisteredError) continue;
      if (!isUnavailable(err)) throw err;
      notAnswered(err);
    }
  }
}

/** The gRPC status line under an SDK error ("4 DEADLINE_EXCEEDED: …"), else its message. */
function grpcReason(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (typeof (e as { code?: unknown }).code === 'number' && e instanceof Error) return e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The newest completed cleanup of this deployment (its task queue). */
export async function lastCleanupReport(
  client: Client,
  taskQueue: string,
): Promise<CleanupReport | undefined> {
  return lastCompletedResult<CleanupReport>(client, 'cleanupWorkflow', taskQueue);
}

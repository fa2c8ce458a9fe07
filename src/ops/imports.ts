import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ImportRunner, ImportRunStatus } from '../api/imports';
import type { ImportStaging } from '../store/import-staging';
import { importProgressQuery, importWorkflow } from '../workflows/import';
import { SourceKey, TASK_QUEUE } from '../workflows/messages';
import { withDeadline } from './connect';
import { IntakeUnavailableError } from './unavailable';

// Snapshot imports on Temporal (the CLI's `tunnus hr|education import` and the API's POST
// /imports): stage the prepared rows and start `import-{source}-{hash}` (the same upload twice finds
// the running one), and read an import's progress. The import workflow's activities deliver its
// rows through the intake use-case's batch form (src/ops/intake.ts deliverAdmitted).

export interface TemporalImportsOptions {
  client: Client;
  staging: ImportStaging;
  taskQueue?: string;
  /** Deadline for a query (it needs a worker). */
  timeoutMs?: number;
}

export function createTemporalImports({
  client,
  staging,
  taskQueue = TASK_QUEUE,
  timeoutMs = 5_000,
}: TemporalImportsOptions): ImportRunner {
  return {
    async start(prepared) {
      const { importId, source, rows, rejectedRows } = prepared;
      const stagingId = `${importId}/${randomUUID()}`;
      await staging.stage(stagingId, rows);
      try {
        await client.workflow.start(importWorkflow, {
          workflowId: importId,
          taskQueue,
          args: [{ importId, stagingId, source, total: rows.length, rejectedRows }],
          staticSummary:
            `${source === 'hr' ? 'HR' : 'Education'} snapshot import: ${rows.length} rows` +
            (rejectedRows > 0 ? ` (${rejectedRows} invalid rows left out)` : '') +
            '; delivers new and changed persons only',
          typedSearchAttributes: [{ key: SourceKey, value: source }],
        });
        return { importId, alreadyRunning: false };
      } catch (err) {
        await staging.dropStaged(stagingId);
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { importId, alreadyRunning: true };
        throw err;
      }
    },

    async status(importId) {
      const handle = client.workflow.getHandle<typeof importWorkflow>(importId);
      let statusName: string;
      try {
        statusName = (await handle.describe()).status.name;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return null;
        throw new IntakeUnavailableError('Temporal describe failed', { cause: err });
      }
      const status = runStatus(statusName);
      if (status === 'completed') return { importId, status, progress: await handle.result() };
      if (status === 'running') {
        try {
          const [progress, meta] = await withDeadline(client, timeoutMs, () =>
            Promise.all([
              handle.query(importProgressQuery),
              handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata'),
            ]),
          );
          return {
            importId,
            status,
            progress,
            ...(meta.currentDetails ? { details: meta.currentDetails } : {}),
          };
        } catch (err) {
          throw new IntakeUnavailableError('no worker answered the progress query', { cause: err });
        }
      }
      const error = await handle.result().then(
        () => undefined,
        (e: unknown) => describeFailure(e),
      );
      return { importId, status, progress: null, ...(error ? { error } : {}) };
    },
  };
}

function runStatus(name: string): ImportRunStatus {
  switch (name) {
    case 'COMPLETED':
      return 'completed';
    case 'FAILED':
      return 'failed';
    case 'CANCELLED':
      return 'cancelled';
    case 'TERMINATED':
      return 'terminated';
    case 'TIMED_OUT':
      return 'timed_out';
    default:
      return 'running'; // RUNNING, CONTINUED_AS_NEW (the handle follows the chain)
  }
}

/** The innermost failure message: "ImportStagingMissing: no staged rows …". */
function describeFailure(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof Error && e.message) {
      const type = (e as { type?: unknown }).type;
      message = typeof type === 'string' ? `${type}: ${e.message}` : e.message;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return message;
}

import type { Client } from '@temporalio/client';
import { inBatches, personState } from '../client';
import type { HrRecord } from '../domain/record';
import { SimulationError } from './collect';

// The managed identities and their current HR records, for a policy-change plan. Managed means:
// a running person workflow on Tunnus's task queue. The workflow is where the record lives (the
// record index keeps only hashes), so enumerating by visibility and reading each person's `state`
// gives identity and record in one place; enumerating AD accounts instead would still need the
// workflows for the records, and would also pick up accounts Tunnus does not manage (orphans are
// the cleanup's business, not a policy change's).

export const managedQuery = (taskQueue: string) =>
  `WorkflowType = 'personWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replace(/'/g, "\\'")}'`;

/** How many identities Tunnus manages: the denominator of the mass-change guard. */
export async function countManaged(client: Client, taskQueue: string): Promise<number> {
  return (await client.workflow.count(managedQuery(taskQueue))).count;
}

export interface ManagedRecords {
  records: HrRecord[];
  /** Person workflows that hold no record yet (nothing to plan for them). */
  withoutRecord: string[];
}

/**
 * Every managed person's current record, read with the `state` query in parallel lanes. A query
 * that fails (no worker answering, workflow gone mid-read) fails the whole read: a plan that
 * silently skipped people would understate the change.
 */
export async function managedRecords(
  client: Client,
  taskQueue: string,
  options: { concurrency?: number; queryTimeoutMs?: number; onProgress?: (done: number) => void } = {},
): Promise<ManagedRecords> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: managedQuery(taskQueue) })) {
    ids.push(wf.workflowId.replace(/^person-/, ''));
  }
  ids.sort();
  const records = new Map<string, HrRecord>();
  const withoutRecord: string[] = [];
  const timeoutMs = options.queryTimeoutMs ?? 30_000;
  await inBatches(
    ids,
    options.concurrency ?? 32,
    async (id) => {
      let state;
      try {
        state = await withTimeout(personState(client, id), timeoutMs);
      } catch (err) {
        throw new SimulationError(
          `cannot read the record of person-${id} (is a worker running?): ${(err as Error).message}`,
          id,
          { cause: err },
        );
      }
      if (state?.record) records.set(id, state.record);
      else withoutRecord.push(id);
    },
    options.onProgress,
  );
  return { records: ids.filter((id) => records.has(id)).map((id) => records.get(id)!), withoutRecord };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

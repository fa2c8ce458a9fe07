import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { readPem, type Env } from './config';
import type { HrRecord } from './domain/record';
import {
  EmployeeIdKey,
  LifecycleStageKey,
  OrgUnitKey,
  personWorkflowId,
  recordSignal,
  SourceKey,
  stateQuery,
  TASK_QUEUE,
  type PersonState,
  type Source,
} from './workflows/messages';
import { personWorkflow } from './workflows/person';

// Client-side operations shared by the CLI (and later the HTTP API).

export async function connectClient(env: Env): Promise<Client> {
  const cert = readPem('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT);
  const key = readPem('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY);
  const ca = readPem('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA);
  const connection = await Connection.connect({
    address: env.TEMPORAL_ADDRESS,
    ...(cert && key
      ? { tls: { clientCertPair: { crt: cert, key }, ...(ca ? { serverRootCACertificate: ca } : {}) } }
      : {}),
  });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
}

/**
 * Delivers a validated record to the person's entity workflow, starting it if needed. The
 * workflow drops duplicates, so delivering the same record again is harmless.
 */
export async function deliverRecord(
  client: Client,
  record: HrRecord,
  source: Source,
  taskQueue = TASK_QUEUE,
): Promise<string> {
  const workflowId = personWorkflowId(record.employeeId);
  await client.workflow.signalWithStart(personWorkflow, {
    workflowId,
    taskQueue,
    args: [{ employeeId: record.employeeId }],
    signal: recordSignal,
    signalArgs: [{ record, source }],
    staticSummary: 'person: every HR event for one employee, in order',
    typedSearchAttributes: [
      { key: EmployeeIdKey, value: record.employeeId },
      { key: LifecycleStageKey, value: 'received' },
      { key: OrgUnitKey, value: record.orgUnit },
      { key: SourceKey, value: source },
    ],
  });
  return workflowId;
}

/** The person's state, or null when Tunnus has never seen the id. */
export async function personState(client: Client, employeeId: string): Promise<PersonState | null> {
  try {
    return await client.workflow.getHandle(personWorkflowId(employeeId)).query(stateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Runs tasks with at most `limit` in flight; reports progress after each. */
export async function inBatches<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
  progress?: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
      progress?.(++done);
    }
  });
  await Promise.all(lanes);
}

import type { Client } from '@temporalio/client';
import { defineSearchAttributeKey, type QueryDefinition } from '@temporalio/common';
import { EmployeeIdKey, LifecycleStageKey } from '../workflows/messages';
import { stageWorkflowTypes, type Stage } from '../cli/stages';
import { quoted } from './visibility';

// Runs as Temporal visibility lists them (`tunnus runs`, the same query ops can type into the Web
// UI), the result of a workflow type's last completed run (the cleanup report, the phone sync's
// cursor), the running runs of some types and a bounded query of one (the population metrics).
// Every value goes into a query through `quoted`.

export interface RunsFilter {
  stage?: Stage;
  since?: Date;
  employeeId?: string;
  /** Worker versioning: only runs now on this Worker Deployment Version (`deployment:buildId`). */
  version?: string;
}

export interface RunRow {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime?: string;
  employeeId?: string;
  lifecycleStage?: string;
  /** The Worker Deployment Version the run is on (`deployment:buildId`); absent when unversioned. */
  version?: string;
}

/**
 * The visibility query for a filter. Values are validated before they get here (stage from a
 * fixed list, employee id by the identity key rule: src/cli/options.ts), so quoting cannot be broken out of.
 */
export function runsQuery(filter: RunsFilter): string {
  const terms: string[] = [];
  if (filter.stage) terms.push(`WorkflowType = ${quoted(stageWorkflowTypes[filter.stage])}`);
  if (filter.employeeId) terms.push(`EmployeeId = ${quoted(filter.employeeId)}`);
  // Visibility compares RFC 3339 instants; whole seconds read better in the Web UI.
  if (filter.since)
    terms.push(`StartTime >= ${quoted(filter.since.toISOString().replace(/\.\d{3}Z$/, 'Z'))}`);
  // Validated like TUNNUS_DEPLOYMENT_NAME and TUNNUS_BUILD_ID (letters, digits, . _ -).
  if (filter.version) terms.push(`TemporalWorkerDeploymentVersion = ${quoted(filter.version)}`);
  return terms.join(' AND ');
}

/** Newest first; at most `limit` rows, and whether visibility holds more. */
export async function listRuns(
  client: Client,
  filter: RunsFilter,
  limit = 100,
): Promise<{ rows: RunRow[]; more: boolean }> {
  const query = runsQuery(filter);
  const rows: RunRow[] = [];
  let more = false;
  for await (const run of client.workflow.list({
    ...(query ? { query } : {}),
    pageSize: Math.min(limit + 1, 1000),
  })) {
    if (rows.length === limit) {
      more = true;
      break;
    }
    const employeeId = run.typedSearchAttributes.get(EmployeeIdKey);
    const lifecycleStage = run.typedSearchAttributes.get(LifecycleStageKey);
    const version = run.typedSearchAttributes.get(WorkerDeploymentVersionKey);
    rows.push({
      workflowId: run.workflowId,
      runId: run.runId,
      type: run.type,
      status: run.status.name.toLowerCase().replace(/_/g, '-'),
      startTime: run.startTime.toISOString(),
      ...(run.closeTime ? { closeTime: run.closeTime.toISOString() } : {}),
      ...(employeeId ? { employeeId } : {}),
      ...(lifecycleStage ? { lifecycleStage } : {}),
      ...(version ? { version } : {}),
    });
  }
  rows.sort((a, b) => b.startTime.localeCompare(a.startTime) || a.workflowId.localeCompare(b.workflowId));
  return { rows, more };
}

/** The Worker Deployment Version a versioned run is on now (`deployment:buildId`), set by Temporal. */
const WorkerDeploymentVersionKey = defineSearchAttributeKey('TemporalWorkerDeploymentVersion', 'KEYWORD');

/**
 * The newest completed run of a workflow type on this deployment's task queue, with its result and
 * when it closed, or undefined when none completed yet. Looks at the newest `window` runs listed.
 */
export async function lastCompleted<T>(
  client: Client,
  workflowType: string,
  taskQueue: string,
  window = 20,
): Promise<{ result: T; closedAt: number } | undefined> {
  let latest: { closeTime: number; workflowId: string; runId: string } | undefined;
  let seen = 0;
  for await (const run of client.workflow.list({
    query: `WorkflowType = ${quoted(workflowType)} AND ExecutionStatus = 'Completed' AND TaskQueue = ${quoted(taskQueue)}`,
    pageSize: window,
  })) {
    const closeTime = run.closeTime?.getTime() ?? 0;
    if (!latest || closeTime > latest.closeTime)
      latest = { closeTime, workflowId: run.workflowId, runId: run.runId };
    if (++seen >= window) break;
  }
  if (!latest) return undefined;
  const result = (await client.workflow.getHandle(latest.workflowId, latest.runId).result()) as T;
  return { result, closedAt: latest.closeTime };
}

/** The result alone of lastCompleted. */
export async function lastCompletedResult<T>(
  client: Client,
  workflowType: string,
  taskQueue: string,
): Promise<T | undefined> {
  return (await lastCompleted<T>(client, workflowType, taskQueue))?.result;
}

export interface RunningRun {
  workflowId: string;
  runId: string;
  type: string;
  startTime: number;
}

/** The running runs of these workflow types on the task queue. */
export async function runningRuns(
  client: Client,
  taskQueue: string,
  types: readonly string[],
): Promise<RunningRun[]> {
  const query = `ExecutionStatus = 'Running' AND TaskQueue = ${quoted(taskQueue)} AND WorkflowType IN (${types.map(quoted).join(', ')})`;
  const listed: RunningRun[] = [];
  for await (const w of client.workflow.list({ query })) {
    listed.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, startTime: w.startTime.getTime() });
  }
  return listed;
}

/**
 * A query of one run, or undefined when it did not answer within `timeoutMs` (a query needs a
 * worker; one without a worker must not stall a scrape) or failed (not registered yet).
 */
export async function queryRun<T>(
  client: Client,
  run: Pick<RunningRun, 'workflowId' | 'runId'>,
  query: QueryDefinition<T> | string,
  timeoutMs: number,
): Promise<T | undefined> {
  return withTimeout(
    client.workflow.getHandle(run.workflowId, run.runId).query<T, []>(query),
    timeoutMs,
  ).catch(() => undefined);
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

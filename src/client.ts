import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { temporalTls, type Env } from './config';
import { identityKeysFor, tunnusDataConverter } from './crypto/data-converter';
import type { IdentityKeys } from './crypto/identity-keys';
import type { EducationRecord } from './domain/education';
import { identityIdOf } from './domain/identity';
import type { HrRecord } from './domain/record';
import {
  EmployeeIdKey,
  LifecycleStageKey,
  OrgUnitKey,
  personWorkflowId,
  provisionStatusQuery,
  recordSignal,
  SourceKey,
  stateQuery,
  TASK_QUEUE,
  type PersonState,
  type Source,
} from './workflows/messages';
import { licencePoolWorkflow } from './workflows/licences';
import { personWorkflow } from './workflows/person';
import type { ShredResult } from './workflows/shred';
import { shredWorkflowId } from './domain/crypto-shred';
import { quoted } from './ops/visibility';

// Client-side operations shared by the CLI (and later the HTTP API).

/**
 * `connectTimeoutMs`: how long to wait for the server (the SDK's default is 10 s). Every payload
 * goes through the payload codec (src/crypto/data-converter.ts), with the keys the environment
 * names unless `keys` are given.
 */
export async function connectClient(
  env: Env,
  options: { connectTimeoutMs?: number; keys?: IdentityKeys } = {},
): Promise<Client> {
  const dataConverter = tunnusDataConverter(options.keys ?? identityKeysFor(env));
  const connection = await Connection.connect({
    address: env.TEMPORAL_ADDRESS,
    ...temporalTls(env),
    ...(options.connectTimeoutMs ? { connectTimeout: options.connectTimeoutMs } : {}),
  });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter });
}

/**
 * Delivers a validated record to the person's entity workflow, starting it if needed. The
 * workflow drops duplicates, so delivering the same record again is harmless. An education
 * record goes to its identity: the HR employee id for staff, `S-{student id}` for pupils.
 */
export async function deliverRecord(
  client: Client,
  record: HrRecord | EducationRecord,
  source: Source,
  taskQueue = TASK_QUEUE,
): Promise<string> {
  const employeeId = identityIdOf(source, record);
  const workflowId = personWorkflowId(employeeId);
  const orgUnit = source === 'hr' ? (record as HrRecord).orgUnit : (record as EducationRecord).schoolCode;
  await client.workflow.signalWithStart(personWorkflow, {
    workflowId,
    taskQueue,
    args: [{ employeeId }],
    signal: recordSignal,
    signalArgs: [{ record, source }],
    staticSummary: 'person: every HR event for one employee, in order',
    typedSearchAttributes: [
      { key: EmployeeIdKey, value: employeeId },
      { key: LifecycleStageKey, value: 'received' },
      { key: OrgUnitKey, value: orgUnit },
      { key: SourceKey, value: source },
    ],
  });
  return workflowId;
}

/**
 * The person's state, or null when Tunnus does not know them: never seen, or crypto-shredded at
 * the end of retention (nothing of them is readable any more; a later record is a new identity).
 * A reader that must tell the two apart uses readPerson.
 */
export async function personState(client: Client, employeeId: string): Promise<PersonState | null> {
  const reading = await readPerson(client, employeeId);
  return reading.kind === 'state' ? reading.state : null;
}

/** What every reader answers for a person whose data key was destroyed (docs/codec-server.md). */
export const SHREDDED_TEXT = 'deleted; personal data crypto-shredded at the end of retention';

export interface ShreddedPerson {
  employeeId: string;
  /** When the person workflow closed (after its retention delete). */
  closedAt: string | undefined;
  /** When shred-{id} destroyed the key. */
  shreddedAt: string | undefined;
}

export type PersonReading =
  | { kind: 'state'; state: PersonState }
  | { kind: 'shredded'; shredded: ShreddedPerson }
  | { kind: 'unknown' };

/**
 * The person as a reader may see them. A closed person run whose shred-{id} completed is answered
 * from visibility alone: its history can no longer be decoded, so a query (a replay) would fail.
 * A closed run not (yet) shredded is still queried; if the shred destroys the key during that
 * query, the query fails and the second look answers "shredded".
 */
export async function readPerson(client: Client, employeeId: string): Promise<PersonReading> {
  const handle = client.workflow.getHandle(personWorkflowId(employeeId));
  let closed: ClosedRun | undefined;
  try {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') closed = { startedAt: d.startTime, closedAt: d.closeTime ?? new Date() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'unknown' };
    throw err;
  }
  if (closed) {
    const shredded = await shredOf(client, employeeId, closed);
    if (shredded) return { kind: 'shredded', shredded };
  }
  try {
    return { kind: 'state', state: await handle.query(stateQuery) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'unknown' };
    const shredded = closed && (await shredOf(client, employeeId, closed));
    if (shredded) return { kind: 'shredded', shredded };
    throw err;
  }
}

interface ClosedRun {
  startedAt: Date;
  closedAt: Date;
}

/** shred-{id}'s outcome for this closed person run: shredded, or null (none, running, skipped). */
async function shredOf(client: Client, employeeId: string, run: ClosedRun): Promise<ShreddedPerson | null> {
  const shred = client.workflow.getHandle(shredWorkflowId(employeeId));
  try {
    const d = await shred.describe();
    // The person starts its shred just before it closes; a shred started outside this run is an
    // earlier generation's (a rehire after a shred is a new person run).
    const started = d.startTime.getTime();
    if (started < run.startedAt.getTime() || started > run.closedAt.getTime()) return null;
    if (d.status.name !== 'COMPLETED') return null;
    const result = (await shred.result()) as ShredResult;
    if (result.outcome !== 'shredded') return null;
    return { employeeId, closedAt: run.closedAt.toISOString(), shreddedAt: d.closeTime?.toISOString() };
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

export interface LicenceRow {
  sku: string;
  seats: number;
  used: number;
  free: number;
  /** Running joiners/movers waiting for a free seat of this SKU. */
  waiting: number;
}

/** Seats per managed SKU (read by the worker, which holds the Graph credentials) and who waits. */
export async function licenceReport(client: Client, taskQueue = TASK_QUEUE): Promise<LicenceRow[]> {
  const pool = await client.workflow.execute(licencePoolWorkflow, {
    workflowId: `licence-pool-${Date.now()}`,
    taskQueue,
    staticSummary: 'read the licence pool for tunnus licences',
  });
  const waiting = new Map<string, number>();
  const running = client.workflow.list({
    query: `ExecutionStatus = 'Running' AND TaskQueue = ${quoted(taskQueue)} AND WorkflowType IN ('joinerWorkflow', 'moverWorkflow', 'rehireWorkflow')`,
  });
  for await (const run of running) {
    // A query waits for a worker; one without a worker must not stall the report.
    const status = await withTimeout(
      client.workflow.getHandle(run.workflowId, run.runId).query(provisionStatusQuery),
      5_000,
    ).catch(() => undefined);
    const match = status && /^waiting for licence (.+)$/.exec(status.detail);
    for (const sku of match?.[1]?.split(', ') ?? []) waiting.set(sku, (waiting.get(sku) ?? 0) + 1);
  }
  return pool.map((p) => ({ ...p, waiting: waiting.get(p.sku) ?? 0 }));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

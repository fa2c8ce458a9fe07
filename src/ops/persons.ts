import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { shredWorkflowId } from '../domain/crypto-shred';
import type { EducationRecord } from '../domain/education';
import { identityIdOf } from '../domain/identity';
import type { HrRecord } from '../domain/record';
import {
  EmployeeIdKey,
  guardReleasedSignal,
  LifecycleStageKey,
  OrgUnitKey,
  personWorkflowId,
  recordSignal,
  replanSignal,
  SourceKey,
  stateQuery,
  TASK_QUEUE,
  type PersonState,
  type Source,
} from '../workflows/messages';
import { personWorkflow } from '../workflows/person';
import { PERSON_WORKFLOW_TASK_TIMEOUT } from '../workflows/options';
import type { ShredResult } from '../workflows/shred';
import { runningPersonsQuery } from './visibility';

// The person entity workflows from outside: hand one a record (signal-with-start), read its state,
// tell a crypto-shredded person from an unknown one, and the signals ops and the held set send.
// Delivery paths call `signalRecord` only through the intake use-case (src/ops/intake.ts), which
// keeps the record index in step; tests and benches may call it directly.

/**
 * Hands a validated record to the person's entity workflow, starting it if needed. The workflow
 * drops duplicates, so delivering the same record again is harmless. An education record goes to
 * its identity: the HR employee id for staff, `S-{student id}` for pupils.
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
    // A joiner's local steps run in the person's task (joiner-here): a task a dead worker held
    // is given to another after this, not the default 10 s. Kept across continue-as-new.
    workflowTaskTimeout: PERSON_WORKFLOW_TASK_TIMEOUT,
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

/**
 * The person workflow's `state` query alone, within `timeoutMs` (a query needs a worker): null when
 * there is no such workflow; any other failure (no answer in time) is thrown, never guessed.
 */
export async function queryPersonState(
  client: Client,
  employeeId: string,
  timeoutMs: number,
): Promise<PersonState | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.workflow.getHandle(personWorkflowId(employeeId)).query(stateQuery),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('person workflow did not answer')), timeoutMs);
      }),
    ]);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  } finally {
    clearTimeout(timer);
  }
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

/** How one run of a workflow stands: its status name (`RUNNING`, `COMPLETED`, …) or `NOT_FOUND`. */
export async function runStatusOf(client: Client, workflowId: string, runId?: string): Promise<string> {
  try {
    return (await client.workflow.getHandle(workflowId, runId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

/** Asks the person to plan again (a policy change, or its approval). */
export async function askToReplan(client: Client, identityId: string, reason: string): Promise<void> {
  await client.workflow.getHandle(personWorkflowId(identityId)).signal(replanSignal, { reason });
}

/** An end of access the mass-change guard held is approved: the person runs its leaver. */
export async function releaseHeldEnd(
  client: Client,
  identityId: string,
  release: { endDate: string; approvedBy: string },
): Promise<void> {
  await client.workflow.getHandle(personWorkflowId(identityId)).signal(guardReleasedSignal, release);
}

/** The identity ids of the running person workflows on the task queue (visibility). */
export async function runningPersonIds(client: Client, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: runningPersonsQuery(taskQueue) })) {
    ids.push(wf.workflowId.replace(/^person-/, ''));
  }
  return ids;
}

/** How many person workflows run on the task queue (visibility's count). */
export async function countRunningPersons(client: Client, taskQueue: string): Promise<number> {
  return (await client.workflow.count(runningPersonsQuery(taskQueue))).count;
}

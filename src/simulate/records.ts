import type { Client } from '@temporalio/client';
import { inBatches } from '../in-batches';
import { countRunningPersons, personState, runningPersonIds } from '../ops/persons';
import { educationIdentityId, type EducationRecord } from '../domain/education';
import { mergeSources, sourcesOf, type IdentityRecord } from '../domain/identity';
import type { HrRecord } from '../domain/record';
import { isManagedIdentity } from '../domain/managed-identity';
import { allRows, type IdentityReadModel } from '../store/read-model';
import { runningPersonsQuery } from '../ops/visibility';
import { SimulationError } from './collect';

// The managed identities and their current HR records, for a policy-change plan. Managed means:
// a running person workflow on Tunnus's task queue. The workflow is where the record lives (the
// record index keeps only hashes), so enumerating by visibility and reading each person's `state`
// gives identity and record in one place; enumerating AD accounts instead would still need the
// workflows for the records, and would also pick up accounts Tunnus does not manage (orphans are
// the cleanup's business, not a policy change's).

export const managedQuery = runningPersonsQuery;

/** How many identities Tunnus manages: the denominator of the mass-change guard. */
export async function countManaged(client: Client, taskQueue: string): Promise<number> {
  return countRunningPersons(client, taskQueue);
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
  const ids = (await runningPersonIds(client, taskQueue)).sort();
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

/**
 * Every managed identity's current record (isManagedIdentity), read from the identity read model
 * page by page: what `tunnus plan --policy` plans. Identities whose sources do not make a person
 * yet (a staff row waiting for HR) are listed apart.
 */
export async function managedRecordsOf(model: Pick<IdentityReadModel, 'page'>): Promise<ManagedRecords> {
  const records: HrRecord[] = [];
  const withoutRecord: string[] = [];
  for await (const row of allRows(model)) {
    if (isManagedIdentity(row)) records.push(row.record!);
    else if (!row.record && row.stage !== 'deleted') withoutRecord.push(row.identityId);
  }
  return { records, withoutRecord };
}

/**
 * What the runs would plan with after an education snapshot: each row merged (mergeSources, as
 * the person workflow merges) with the HR record the identity read model holds for the person.
 */
export async function mergeWithHeldRows(
  model: Pick<IdentityReadModel, 'getMany'>,
  rows: EducationRecord[],
): Promise<MergedEducation> {
  const ids = [...new Set(rows.map(educationIdentityId))];
  const held = new Map<string, HrRecord>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const [id, row] of await model.getMany(ids.slice(i, i + 500))) {
      const legacy =
        row.record && !row.records.hr && sourcesOf(row.record).includes('hr') ? row.record : undefined;
      const hr = row.records.hr ?? legacy;
      if (hr) held.set(id, hr);
    }
  }
  const merged = new Map<string, IdentityRecord>();
  const waitingForHr: string[] = [];
  for (const row of rows) {
    const id = educationIdentityId(row);
    const hr = held.get(id);
    const record = mergeSources({ ...(hr ? { hr } : {}), education: row });
    if (record) merged.set(id, record);
    else waitingForHr.push(id);
  }
  const planned = rows.map(educationIdentityId).filter((id) => merged.has(id));
  return { records: planned.map((id) => merged.get(id)!), waitingForHr: waitingForHr.sort() };
}

export interface MergedEducation {
  /** The records the runs would plan with: each row merged with the HR record its person holds. */
  records: IdentityRecord[];
  /** Identity ids of staff rows whose HR record has not arrived: no run starts for them yet. */
  waitingForHr: string[];
}

/**
 * What the runs would plan with after an education snapshot: each row merged (mergeSources, as
 * the person workflow merges) with the HR record the person's workflow holds, if any.
 */
export async function mergeWithHeld(
  client: Client,
  rows: EducationRecord[],
  options: { concurrency?: number; queryTimeoutMs?: number } = {},
): Promise<MergedEducation> {
  const merged = new Map<string, IdentityRecord>();
  const waitingForHr: string[] = [];
  const timeoutMs = options.queryTimeoutMs ?? 30_000;
  await inBatches(rows, options.concurrency ?? 32, async (row) => {
    const id = educationIdentityId(row);
    let state;
    try {
      state = await withTimeout(personState(client, id), timeoutMs);
    } catch (err) {
      throw new SimulationError(`cannot read the records of person-${id}: ${(err as Error).message}`, id, {
        cause: err,
      });
    }
    // State carried from before the education source holds the HR record as `record` only.
    const held =
      state?.record && !state.records && sourcesOf(state.record).includes('hr') ? state.record : undefined;
    const hr = state?.records?.hr ?? held;
    const record = mergeSources({ ...(hr ? { hr } : {}), education: row });
    if (record) merged.set(id, record);
    else waitingForHr.push(id);
  });
  const ids = rows.map(educationIdentityId).filter((id) => merged.has(id));
  return { records: ids.map((id) => merged.get(id)!), waitingForHr: waitingForHr.sort() };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { identityRow, rowDrift, type IdentityRow } from '../domain/identity-row';
import { completeRow } from '../domain/managed-identity';
import type { PersonState } from '../domain/person-state';
import type { Policy } from '../domain/policy';
import { allRows, type IdentityReadModel } from '../store/read-model';
import { personWorkflowId, stateQuery } from '../workflows/messages';
import { runningPersonsQuery } from './visibility';

// `tunnus index verify` and `tunnus index rebuild`: the identity read model against its authority,
// the person workflows' state. Both are safe while the service runs: verify only reads (a row the
// workflow is just rewriting is looked at twice before it counts as drift), and rebuild writes
// through the store's version order, so it never overwrites a row newer than the state it read.

export interface ReadModelOpsDeps {
  client: Client;
  model: IdentityReadModel;
  policy: Policy;
  taskQueue: string;
  /** Person workflows asked at once. */
  concurrency?: number;
  queryTimeoutMs?: number;
  /** Called after each identity (done, total), for a progress bar. */
  progress?: (done: number, total: number) => void;
}

export interface Drift {
  identityId: string;
  /** The fields that differ, or `row` (the read model has none) or `workflow` (no person workflow). */
  fields: string[];
}

export interface VerifyReport {
  checked: number;
  drift: Drift[];
  /** Identities whose workflow did not answer (no worker, timeout): neither drift nor fine. */
  unreadable: string[];
}

export interface RebuildReport {
  written: number;
  /** Rows the workflow had already written newer than the state read here: left as they are. */
  newer: number;
  unreadable: string[];
}

/** The ids of every running person workflow on the task queue, sorted. */
export async function personIds(client: Client, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: runningPersonsQuery(taskQueue) })) {
    ids.push(wf.workflowId.replace(/^person-/, ''));
  }
  return ids.sort();
}

/**
 * The row the person's state says the read model should hold (entitlements as the activity fills
 * them in). A state that has not written a row yet (a run on code from before the read model) is
 * stamped below every real write (chain ''), so the workflow's own first write replaces it.
 */
export function expectedRow(
  state: PersonState,
  policy: Policy,
  stored: IdentityRow | undefined,
): IdentityRow {
  const stamp = state.row ?? { chain: '', version: 0, at: new Date(0).toISOString() };
  return completeRow(identityRow(state, stamp), policy, stored);
}

/**
 * Compares rows with the workflows' state: every running person (`sample` absent) or a random
 * sample of them, plus (full only) rows whose identity has no running workflow.
 */
export async function verifyReadModel(
  deps: ReadModelOpsDeps,
  options: { sample?: number } = {},
): Promise<VerifyReport> {
  const all = await personIds(deps.client, deps.taskQueue);
  const ids = options.sample !== undefined ? sampleOf(all, options.sample) : all;
  const drift: Drift[] = [];
  const unreadable: string[] = [];
  let done = 0;
  await inLanes(ids, deps.concurrency ?? 16, async (id) => {
    const found = await compare(deps, id);
    if (found === 'unreadable') unreadable.push(id);
    else if (found) drift.push(found);
    deps.progress?.(++done, ids.length);
  });
  if (options.sample === undefined) {
    const running = new Set(all);
    for await (const row of allRows(deps.model)) {
      if (!running.has(row.identityId) && row.stage !== 'deleted') {
        drift.push({ identityId: row.identityId, fields: ['workflow'] });
      }
    }
  }
  drift.sort((a, b) => (a.identityId < b.identityId ? -1 : 1));
  return { checked: ids.length, drift, unreadable: unreadable.sort() };
}

/** One identity's drift, looked at twice: a workflow mid-write settles within a moment. */
async function compare(deps: ReadModelOpsDeps, id: string): Promise<Drift | undefined | 'unreadable'> {
  for (let attempt = 0; ; attempt++) {
    const state = await readState(deps, id);
    if (state === 'unreadable' || state === null) return 'unreadable';
    const stored = await deps.model.get(id);
    const fields = stored ? rowDrift(expectedRow(state, deps.policy, stored), stored) : ['row'];
    if (fields.length === 0) return undefined;
    if (attempt >= 1) return { identityId: id, fields };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Rewrites every running person's row from its state (newer rows written meanwhile are kept). */
export async function rebuildReadModel(deps: ReadModelOpsDeps): Promise<RebuildReport> {
  const ids = await personIds(deps.client, deps.taskQueue);
  let written = 0;
  let newer = 0;
  const unreadable: string[] = [];
  let done = 0;
  await inLanes(ids, deps.concurrency ?? 16, async (id) => {
    const state = await readState(deps, id);
    if (state === 'unreadable' || state === null) unreadable.push(id);
    else if (
      (await deps.model.write(expectedRow(state, deps.policy, await deps.model.get(id)))) === 'written'
    )
      written++;
    else newer++;
    deps.progress?.(++done, ids.length);
  });
  return { written, newer, unreadable: unreadable.sort() };
}

async function readState(deps: ReadModelOpsDeps, id: string): Promise<PersonState | null | 'unreadable'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      deps.client.workflow.getHandle(personWorkflowId(id)).query(stateQuery),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), deps.queryTimeoutMs ?? 30_000);
      }),
    ]);
  } catch (err) {
    return err instanceof WorkflowNotFoundError ? null : 'unreadable';
  } finally {
    clearTimeout(timer);
  }
}

/** `n` ids picked at random (all when there are fewer), in id order. */
function sampleOf(ids: readonly string[], n: number): string[] {
  const pool = [...ids];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, Math.max(0, n)).sort();
}

async function inLanes<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

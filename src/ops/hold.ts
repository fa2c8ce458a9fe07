import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  dropHeldSignal,
  heldChangesQuery,
  holdChangeSignal,
  HOLD_WORKFLOW_ID,
  massChangeHoldWorkflow,
  type HeldChange,
  type HeldSummary,
} from '../workflows/mass-change-hold';
import { TASK_QUEUE } from '../workflows/messages';
import { withTimeout } from './runs';

// The held set from outside: put a change in it (starting `mass-change-hold` if needed), take one
// out, list it. Used by the intake (src/ops/intake.ts via src/api/intake.ts) and the CLI.

export async function holdChange(client: Client, change: HeldChange, taskQueue = TASK_QUEUE): Promise<void> {
  await client.workflow.signalWithStart(massChangeHoldWorkflow, {
    workflowId: HOLD_WORKFLOW_ID,
    taskQueue,
    args: [{}],
    signal: holdChangeSignal,
    signalArgs: [change],
    staticSummary: 'mass-change guard: changes that take access away, held for approval',
  });
}

export async function dropHeldChange(client: Client, identityId: string): Promise<void> {
  try {
    await client.workflow.getHandle(HOLD_WORKFLOW_ID).signal(dropHeldSignal, { identityId });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

/** What waits in the held set (ids, kinds, groups; no records); empty when nothing is held. */
export async function heldChanges(client: Client): Promise<HeldSummary[]> {
  try {
    return await client.workflow.getHandle(HOLD_WORKFLOW_ID).query(heldChangesQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return [];
    throw err;
  }
}

/**
 * The loss kinds waiting in the held set, for the metrics scrape: addressed by id and query name
 * (no guard workflow code loaded); a closed held set holds nothing (a query would have to replay
 * it on a worker, which may be gone); no such workflow means nothing is held.
 */
export async function heldChangeKinds(client: Client, timeoutMs: number): Promise<string[]> {
  try {
    const handle = client.workflow.getHandle(HOLD_WORKFLOW_ID);
    if ((await withTimeout(handle.describe(), timeoutMs)).status.name !== 'RUNNING') return [];
    const held = await withTimeout(handle.query<{ kind: string }[]>('heldChanges'), timeoutMs);
    return Array.isArray(held) ? held.map((h) => h.kind) : [];
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return [];
    throw err;
  }
}

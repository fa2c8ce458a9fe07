import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ImportStaging } from '../store/import-staging';

// Staged rows hold HR records (sealed). The import workflow drops its own in a `finally` when it
// completes, fails or is cancelled; a terminated workflow runs no code at all, so its rows would
// stay. This sweep, run when a worker starts and when an import begins, drops the rows of every
// import whose workflow is closed (or was never started: the CLI/API died between staging and
// start, after a grace period for that short gap).

export interface SweepOptions {
  client: Client;
  store: ImportStaging;
  /** Rows of an import whose workflow does not exist yet are kept this long (the stage → start gap). */
  graceMs?: number;
  now?: () => Date;
}

export interface SweepResult {
  /** Staging ids whose rows were dropped. */
  dropped: string[];
  /** Staging ids kept: their import is still running (or just staged). */
  kept: string[];
}

/** The import workflow a staging id belongs to: `{importId}/{uuid}` (src/api/imports.ts). */
export const importIdOfStaging = (stagingId: string): string => stagingId.split('/')[0]!;

export async function sweepEndedImports({
  client,
  store,
  graceMs = 10 * 60_000,
  now = () => new Date(),
}: SweepOptions): Promise<SweepResult> {
  const result: SweepResult = { dropped: [], kept: [] };
  for (const { stagingId, stagedAt } of await store.stagedImports()) {
    let open: boolean;
    try {
      const status = (await client.workflow.getHandle(importIdOfStaging(stagingId)).describe()).status.name;
      // A running import with this id may be a later upload of the same file; its rows are kept
      // until it closes too (the next sweep).
      open = status === 'RUNNING';
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      const age = stagedAt ? now().getTime() - Date.parse(stagedAt) : Infinity;
      open = age < graceMs;
    }
    if (open) result.kept.push(stagingId);
    else {
      await store.dropStaged(stagingId);
      result.dropped.push(stagingId);
    }
  }
  return result;
}

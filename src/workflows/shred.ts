import { log, proxyActivities } from '@temporalio/workflow';
import type { ShredActivities } from '../activities/crypto-shred';

// Crypto-shredding of one person, started by the person workflow when the retention delete has
// completed (patched('crypto-shred') in person.ts) as an abandoned child, `shred-{id}`.
//
// Why a child that waits, and not a last activity of the person: a workflow whose history can no
// longer be decoded can never be replayed. Were the person to destroy its own key and then
// complete, a worker restart (or a cache eviction) between the two would leave a run that is open
// and undecodable forever. So the person completes first, and this workflow — whose input and
// activities carry only the id, as `subjectId`, encoded with the shared key — waits until that
// run is closed, then removes the index entry and the read-model row and destroys the key. Only a
// run that completed is shredded: one that continued as new (a record arrived as it was closing)
// lives on, and keeps its key.

export interface ShredInput {
  subjectId: string;
  /** The person run (person-{id}) that completed after its retention delete. */
  personWorkflowId: string;
  personRunId: string;
}

export interface ShredResult {
  outcome: 'shredded' | 'person still live';
}

const { personRunStatus } = proxyActivities<ShredActivities>({
  startToCloseTimeout: '30 seconds',
  // The wait for the person to close is this retry (PersonStillOpen); a lost server is retried too.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const { forgetSubject, destroySubjectKey } = proxyActivities<ShredActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function shredWorkflow(input: ShredInput): Promise<ShredResult> {
  const status = await personRunStatus.executeWithOptions(
    { summary: 'wait until the person run is closed' },
    [{ workflowId: input.personWorkflowId, runId: input.personRunId }],
  );
  if (status !== 'completed') {
    log.warn('alert: shred skipped, the person run did not complete', { status });
    return { outcome: 'person still live' };
  }
  await forgetSubject.executeWithOptions({ summary: 'remove the record index entry and read model row' }, [
    { subjectId: input.subjectId },
  ]);
  await destroySubjectKey.executeWithOptions({ summary: 'destroy the data key (crypto-shredding)' }, [
    { subjectId: input.subjectId },
  ]);
  return { outcome: 'shredded' };
}

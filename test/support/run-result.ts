import type { Client } from '@temporalio/client';
import { personState } from '../../src/ops/persons';
import type { ProvisionResult } from '../../src/workflows/converge';

/** What the tests compare with a plan: the steps applied, the licences assigned, the first day. */
export type AppliedResult = Pick<ProvisionResult, 'applied' | 'licences' | 'licencesRemoved'> & {
  handover?: { status: string };
};

/**
 * The person's last run's result: its child's, or what a run that finished inside its person
 * (joiner-here: no cloud, so no licences either way) left in its run entry.
 */
export async function lastRunResult(client: Client, identityId: string): Promise<AppliedResult> {
  const last = (await personState(client, identityId))!.runs.at(-1)!;
  if (last.ranIn) {
    return {
      applied: last.applied ?? [],
      licences: [],
      licencesRemoved: [],
      ...(last.handover ? { handover: { status: last.handover } } : {}),
    };
  }
  return client.workflow.getHandle(last.workflowId).result() as Promise<ProvisionResult>;
}

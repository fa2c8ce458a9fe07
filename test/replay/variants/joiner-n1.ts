import { patched, sleep } from '@temporalio/workflow';
import { converge, type ProvisionInput, type ProvisionResult } from '../../../src/workflows/converge';

// Version N+1 of the workflows for the upgrade proof (scripts/upgrade-proof.ts): the real ones, with
// one command change to the joiner behind patched(), as docs/versioning.md prescribes. A joiner
// that started on version N replays its recorded part without the marker and takes the new step
// when it gets there on N+1; never registered by the real worker.

export * from '../../../src/workflows';

export const UPGRADE_PATCH = 'upgrade-proof-welcome-check';
export const UPGRADE_STEP = 'N+1: welcome check after the join';

export async function joinerWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  const result = await converge(input);
  if (patched(UPGRADE_PATCH)) {
    // A new command (a timer) where version N completed the run.
    await sleep(1);
    result.applied.push(UPGRADE_STEP);
  }
  return result;
}

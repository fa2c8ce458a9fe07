import { patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { CloudActivities } from '../../../src/activities/cloud';
import type { RunActivities } from '../../../src/activities/runs';
import { converge, type ProvisionInput, type ProvisionResult } from '../../../src/workflows/converge';
import { cloudActivityOptions, directoryActivityOptions } from '../../../src/workflows/options';

// Deliberately broken workflows for the failing-on-purpose replay tests (test/replay/replay.test.ts),
// bundled on their own: never registered by a worker. Every other workflow is the real one.

export * from '../../../src/workflows';

const cloud = proxyActivities<CloudActivities>(cloudActivityOptions);
const runs = proxyActivities<RunActivities>(directoryActivityOptions);

/** The phone sync with its first two commands swapped: a page first, then the cursor. */
export async function phoneSyncWorkflow(): Promise<void> {
  // As the real one (the marker a recorded run holds); the swap below is what breaks replay.
  patched('phone-sync-paged');
  await cloud.syncPhonePage({});
  await runs.lastPhoneSyncCursor();
}

/** A joiner with a step added in front of the plan, not behind patched(): breaks running joiners. */
export async function joinerWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  await sleep('1 second');
  return converge(input);
}

/**
 * The same step behind patched(): a joiner that already planned replays the old path; a new one
 * takes the step. Replayed under this name by rewriting the recorded workflow type.
 */
export async function joinerWithPatchWorkflow(input: ProvisionInput): Promise<ProvisionResult> {
  if (patched('replay-test-step-before-plan')) await sleep('1 second');
  return converge(input);
}

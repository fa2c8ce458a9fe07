import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { upgradeProof } from '../../scripts/upgrade-proof';
import { startStack, type Stack } from '../support/stack';

// Issue 15's proof, in npm test: 50 people wait on worker version N (25 for a licence seat, 25
// for their start date), N+1 — a joiner change behind patched() — is rolled out as a new Worker
// Deployment Version and made current, N is stopped; every run finishes on N+1 (~2 minutes).
// `npx tsx scripts/upgrade-proof.ts` prints the same figures.

describe('an upgrade while 50 people wait', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      policy: (p) => {
        p.cloud.licenceRecheckSeconds = 5;
      },
    });
  });
  after(async () => {
    await stack?.close();
  });

  it('every joiner started on version N finishes on N+1, with no non-determinism error', async () => {
    const figures = await upgradeProof(stack, { people: 50 });
    const summary = JSON.stringify(figures);
    assert.equal(figures.waitingForSeat, 25, summary);
    assert.equal(figures.waitingForStartDate, 25, summary);
    assert.equal(figures.startedOnN, 50, summary);
    assert.equal(figures.finishedOnN1, 50, summary);
    assert.equal(figures.tookNewStep, 50, summary);
    assert.equal(figures.active, 50, summary);
    assert.equal(figures.nonDeterminismErrors, 0, summary);
    assert.equal(figures.workflowTaskFailures, 0, summary);
    assert.equal(figures.replayFailuresOnN1, 0, summary);
    // Why docs/versioning.md rolls back only to a version that knows the patch: N cannot replay
    // a run that recorded the N+1 marker.
    assert.equal(figures.replayFailuresOnN, figures.replayedOnN, summary);
    // Visibility says which version each run is on now (the `tunnus runs --build-id` filter).
    assert.equal(
      Object.values(figures.runsByVersion).reduce((a, b) => a + b, 0),
      100,
      summary,
    );
  });
});
